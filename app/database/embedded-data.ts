// The embedded database's first start: instead of initdb and every migration (10–20 s of
// WebAssembly), PGlite unpacks a data directory that `npm run build` migrated
// (scripts/embedded-data.ts). The start then migrates as always, which is a no-op while the dump
// is as new as the migrations, and catches up when it is not.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { projectDirectory } from '../project-directory.js'

/** Written by `npm run build`; the sources (tsx) use it too when it is there: the start migrates what is newer. */
export const EMBEDDED_DATA_FILE = path.join(projectDirectory(), 'dist/embedded-data.tar')

/**
 * The prepared data directory to give PGlite.create as `loadDataDir`, or undefined when `dataDir`
 * already holds a database (PGlite refuses to load over one) or nothing was prepared.
 */
export async function preparedDataFor(dataDir: string, file = EMBEDDED_DATA_FILE): Promise<Blob | undefined> {
  if (existsSync(path.join(dataDir, 'PG_VERSION')) || !existsSync(file)) return undefined
  return new Blob([await readFile(file)])
}

/** The dump of a prepared PGlite, uncompressed: gzip would cost more at start than reading the bytes does. */
export async function dumpPreparedData(pglite: PGlite): Promise<Buffer> {
  return Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer())
}
