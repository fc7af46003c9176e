// Runs once before the test files (tap's `before`): builds the migrated, seeded template that
// every test file clones, as a PostgreSQL template database or as a PGlite data directory dump.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { openDatabase, pgliteExtensions, wrapPglite } from '../../app/database/database.js'
import { prepareDatabase } from '../../app/prepare-database.js'
import { PGLITE_TEMPLATE, TEMPLATE_DATABASE, databaseUrl, silentLog, testConfig, withAdminClient } from '../helpers.js'

if (process.env.TEST_DATABASE_URL) {
  await withAdminClient(async (client) => {
    await client.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`)
    await client.query(`create database ${TEMPLATE_DATABASE}`)
  })
  const database = await openDatabase(testConfig({ DATABASE_URL: databaseUrl(TEMPLATE_DATABASE) }), silentLog)
  try {
    await prepareDatabase(database.db, silentLog)
  } finally {
    await database.destroy()
  }
} else {
  const { PGlite } = await import('@electric-sql/pglite')
  const pglite = await PGlite.create('memory://', { extensions: await pgliteExtensions() })
  const database = wrapPglite(pglite, 'PGlite test template')
  await prepareDatabase(database.db, silentLog)
  const dump = await pglite.dumpDataDir('none')
  await mkdir(path.dirname(PGLITE_TEMPLATE), { recursive: true })
  await writeFile(PGLITE_TEMPLATE, Buffer.from(await dump.arrayBuffer()))
  await database.destroy()
}
