import { existsSync } from 'node:fs'
import path from 'node:path'

/** The project directory (where package.json is), whether this runs from app/ (tsx) or dist/app/ (tsc). */
export function projectDirectory(): string {
  let directory = import.meta.dirname
  while (!existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory)
    if (parent === directory) throw new Error(`no package.json above ${import.meta.dirname}`)
    directory = parent
  }
  return directory
}
