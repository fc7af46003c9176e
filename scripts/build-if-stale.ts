// `npm start` runs this before the service: `npm run build` only when a build input is newer than
// the last build that this script ran (its stamp, dist/.build-stamp), so a second start with
// nothing changed starts at once. `npm run build` by hand clears dist/ and with it the stamp: the
// next start builds again, once. Plain Node (type stripping), no tsx: it runs on every start.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** What `npm run build` reads: a change to any of these rebuilds. */
const INPUTS = ['app', 'client', 'migrations', 'scripts/embedded-data.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'client/tsconfig.json']
/** What it writes: a missing one rebuilds. */
const OUTPUTS = ['dist/app/server.js', 'dist/app/service.js', 'dist/embedded-data.tar', 'client-dist/index.html']
const STAMP = 'dist/.build-stamp'

const root = process.cwd()

/** The newest modification time under `entry` (a file or a directory), 0 when it does not exist. */
function newest(entry: string): number {
  if (!existsSync(entry)) return 0
  const stats = statSync(entry)
  if (!stats.isDirectory()) return stats.mtimeMs
  return readdirSync(entry).reduce((latest, name) => Math.max(latest, newest(path.join(entry, name))), stats.mtimeMs)
}

function upToDate(): boolean {
  const stamp = path.join(root, STAMP)
  if (!existsSync(stamp) || OUTPUTS.some((output) => !existsSync(path.join(root, output)))) return false
  const built = statSync(stamp).mtimeMs
  return INPUTS.every((input) => newest(path.join(root, input)) <= built)
}

if (upToDate()) {
  process.stderr.write('build up to date (npm run build to force one)\n')
} else {
  // The stamp takes the time the build started: a file saved during the build is newer, and rebuilds next time.
  const started = new Date()
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(build.status ?? 1)
  writeFileSync(path.join(root, STAMP), '')
  utimesSync(path.join(root, STAMP), started, started)
}
