// The embedded database's first start: instead of initdb and every migration (10–20 s of
// WebAssembly), a new data directory is unpacked from one that `npm run build` migrated
// (scripts/embedded-data.ts). The start then migrates as always, which is a no-op while the dump
// is as new as the migrations, and catches up when it is not.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { projectDirectory } from '../project-directory.js'

/** Written by `npm run build`; the sources (tsx) use it too when it is there: the start migrates what is newer. */
export const EMBEDDED_DATA_FILE = path.join(projectDirectory(), 'dist/embedded-data.tar')

/**
 * Unpacks the prepared data directory into `dataDir` unless it already holds a database
 * (PG_VERSION) or nothing was prepared; says whether it did. PGlite then opens it as any existing
 * directory. Node writes the files: PGlite's own `loadDataDir` unpacked the same tar through its
 * WebAssembly file system, about 2 s more per first start. PG_VERSION is written last, so an
 * unpack cut short is redone by the next start rather than taken for a database.
 */
export async function unpackPreparedData(dataDir: string, file = EMBEDDED_DATA_FILE): Promise<boolean> {
  const version = path.join(dataDir, 'PG_VERSION')
  if (existsSync(version) || !existsSync(file)) return false
  let versionEntry: TarEntry | undefined
  const made = new Set<string>()
  // Synchronous: nothing else runs before the database is open, and a thousand small writes
  // awaited one by one cost more than they take.
  const makeDirectory = (directory: string, mode?: number) => {
    if (made.has(directory)) return
    mkdirSync(directory, { recursive: true, ...(mode !== undefined && { mode }) })
    made.add(directory)
  }
  for (const entry of tarEntries(await readFile(file))) {
    const target = path.join(dataDir, entry.name)
    if (entry.type === 'directory') makeDirectory(target, entry.mode)
    else if (target === version) versionEntry = entry
    else {
      makeDirectory(path.dirname(target))
      writeFileSync(target, entry.body, { mode: entry.mode })
    }
  }
  if (!versionEntry) throw new Error(`${file} holds no PG_VERSION: not a data directory`)
  writeFileSync(version, versionEntry.body, { mode: versionEntry.mode })
  return true
}

interface TarEntry {
  name: string
  type: 'file' | 'directory'
  mode: number
  body: Buffer
}

/**
 * The entries of a tar as PGlite's dumpDataDir writes it: ustar headers, regular files and
 * directories, names under 100 bytes (its prefix field holds timestamps, not a name prefix).
 * Anything else is refused rather than guessed at.
 */
function* tarEntries(tar: Buffer): Generator<TarEntry> {
  const text = (offset: number, length: number) => {
    const field = tar.subarray(offset, offset + length)
    const end = field.indexOf(0)
    return field.subarray(0, end === -1 ? length : end).toString('utf8')
  }
  for (let offset = 0; offset + 512 <= tar.length; ) {
    if (tar[offset] === 0) return // the end: blocks of zeros
    const rawName = text(offset, 100)
    if (tar.subarray(offset, offset + 100).indexOf(0) === -1) throw new Error(`tar entry name too long at byte ${offset}`)
    const name = path.posix.normalize(rawName.replace(/^\/+/, ''))
    if (name === '..' || name.startsWith('../') || path.posix.isAbsolute(name)) throw new Error(`tar entry outside the directory: ${rawName}`)
    const mode = parseInt(text(offset + 100, 8), 8)
    const size = parseInt(text(offset + 124, 12), 8)
    const flag = String.fromCharCode(tar[offset + 156]!)
    const body = tar.subarray(offset + 512, offset + 512 + size)
    if (Number.isNaN(mode) || Number.isNaN(size) || body.length !== size) throw new Error(`tar entry ${rawName} is damaged`)
    if (flag === '5') yield { name, type: 'directory', mode, body }
    else if (flag === '0' || flag === '\0') yield { name, type: 'file', mode, body }
    else throw new Error(`tar entry ${rawName} has type ${JSON.stringify(flag)}: only files and directories are expected`)
    offset += 512 + Math.ceil(size / 512) * 512
  }
}

/** The dump of a prepared PGlite, uncompressed: gzip would cost more at start than reading the bytes does. */
export async function dumpPreparedData(pglite: PGlite): Promise<Buffer> {
  return Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer())
}
