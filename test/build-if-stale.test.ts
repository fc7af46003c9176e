// `npm start` builds only when something changed (scripts/build-if-stale.ts), tried on a small
// project of its own whose `npm run build` only counts its runs and writes the outputs.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

const script = path.resolve(import.meta.dirname, '../scripts/build-if-stale.ts')

const fakeBuild = `
const fs = require('node:fs')
for (const dir of ['dist/app', 'client-dist']) fs.mkdirSync(dir, { recursive: true })
for (const file of ['dist/app/server.js', 'dist/app/service.js', 'dist/embedded-data.tar', 'client-dist/index.html']) fs.writeFileSync(file, '')
fs.appendFileSync('builds', 'x')
`

t.test('a second start with nothing changed does not build; a changed or missing file does', async (t) => {
  const project = await mkdtemp(path.join(tmpdir(), 'build-if-stale-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await writeFile(path.join(project, 'build.cjs'), fakeBuild)
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ scripts: { build: 'node build.cjs' } }))
  await mkdir(path.join(project, 'app'))
  await writeFile(path.join(project, 'app/server.ts'), '')
  const start = () => promisify(execFile)(process.execPath, [script], { cwd: project })
  const builds = async () => (await readFile(path.join(project, 'builds'), 'utf8')).length

  await start()
  t.equal(await builds(), 1, 'the first start builds')
  await start()
  t.equal(await builds(), 1, 'the second does not')

  const later = new Date(Date.now() + 60_000)
  await utimes(path.join(project, 'app/server.ts'), later, later)
  await start()
  t.equal(await builds(), 2, 'a source newer than the build rebuilds')
  await utimes(path.join(project, 'app/server.ts'), new Date(0), new Date(0))
  await start()
  t.equal(await builds(), 2)

  await rm(path.join(project, 'dist/embedded-data.tar'))
  await start()
  t.equal(await builds(), 3, 'a missing output rebuilds')
})
