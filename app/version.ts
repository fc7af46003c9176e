import { readFileSync } from 'node:fs'
import path from 'node:path'

// package.json is one level above app/ (run by tsx) and two above dist/app/ (compiled).
function readVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, relative), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'mission-control' && pkg.version) return pkg.version
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0'
}

export const version = readVersion()
