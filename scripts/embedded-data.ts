// Part of `npm run build`: dist/embedded-data.tar, an embedded (PGlite) data directory with every
// migration applied. The first open of a new DATA_DIR unpacks it instead of running initdb and the
// migrations (app/database/embedded-data.ts). It holds no data: a new directory is as empty as a
// freshly migrated one (the CLIs see no planets), and the service's start seeds the catalogue.
//
//   node --import=tsx scripts/embedded-data.ts [<file>]     (default dist/embedded-data.tar)
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { pgliteExtensions, wrapPglite } from '../app/database/database.js'
import { dumpPreparedData } from '../app/database/embedded-data.js'
import { migrateToLatest } from '../app/database/migrate.js'

const file = process.argv[2] ?? path.resolve(import.meta.dirname, '../dist/embedded-data.tar')
const pglite = await PGlite.create('memory://', { extensions: await pgliteExtensions() })
const database = wrapPglite(pglite, 'embedded data for dist/')
try {
  await migrateToLatest(database.db)
  // A dump is taken from a running database: its first start recovers from the last checkpoint.
  // Checkpointing here leaves it no WAL to replay.
  await pglite.exec('checkpoint')
  await writeFile(file, await dumpPreparedData(pglite))
} finally {
  await database.destroy()
}
