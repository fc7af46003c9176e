// `npm test [-- <tap arguments>]`: tap, then the list of test files it left out because this
// machine lacks what they need (test/support/needs.ts), with the command that installs it.
// Leaving files out is not a failure (a fresh machine passes without root); TEST_REQUIRE_ALL=1
// makes it one. With tap's JUnit reporter the left-out files are added to the report as
// skipped test cases, so CodeBuild's report shows them too.
//
// Before tap: `npm run build` when the build is missing or older than its inputs
// (scripts/build-if-stale.ts, as `npm start` does), since the bundle tests package what the build
// produced. TEST_SKIP_BUILD=1 skips this: for runs inside a test run, which must not rebuild what
// other test files are reading.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LeftOutFile } from '../test/support/needs.js'

const root = path.resolve(import.meta.dirname, '..')

/** The value of a tap option given as `--name=value`, `--name value` or `-X value`. */
function option(args: string[], long: string, short: string): string | undefined {
  let value: string | undefined
  args.forEach((arg, index) => {
    if (arg.startsWith(`${long}=`)) value = arg.slice(long.length + 1)
    else if (arg === long || arg === short) value = args[index + 1]
    else if (arg.startsWith(short) && arg.length > short.length && !arg.startsWith('--')) value = arg.slice(short.length)
  })
  return value
}

async function readLedger(directory: string): Promise<LeftOutFile[]> {
  const records: LeftOutFile[] = []
  for (const name of (await readdir(directory)).sort()) {
    records.push(JSON.parse(await readFile(path.join(directory, name), 'utf8')) as LeftOutFile)
  }
  return records.sort((a, b) => a.file.localeCompare(b.file))
}

function summary(leftOut: LeftOutFile[]): string {
  if (leftOut.length === 0) {
    return process.env.TEST_REQUIRE_ALL === '1'
      ? '\nTEST_REQUIRE_ALL=1: a test file that lacks what it needs fails instead of being left out.\n'
      : '\nNo test file was left out: this machine has what every selected file needs.\n'
  }
  const lines = [`\nLeft out ${leftOut.length} test file${leftOut.length === 1 ? '' : 's'}: this machine lacks what they need (TEST_REQUIRE_ALL=1 makes this a failure).`]
  for (const { file, unmet } of leftOut) {
    lines.push(`  ${file}`)
    for (const { need, lacks, install } of unmet) lines.push(`      needs ${need}: ${lacks}`, `        install: ${install}`)
  }
  return `${lines.join('\n')}\n`
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[character]!)

/** Adds one skipped test case per left-out file, in a test suite of their own, to tap's JUnit file. */
async function addToJunit(file: string, leftOut: LeftOutFile[]): Promise<void> {
  if (leftOut.length === 0 || !existsSync(file)) return
  const xml = await readFile(file, 'utf8')
  const cases = leftOut.map(({ file: testFile, unmet }) => {
    const reason = unmet.map(({ need, lacks, install }) => `needs ${need}: ${lacks}; install: ${install}`).join('; ')
    return `<testcase name="${escapeXml(testFile)}" classname="left out (needs not met)"><skipped message="${escapeXml(reason)}" /></testcase>`
  })
  const suite = `<testsuite name="left out (needs not met)" tests="${leftOut.length}" failures="0" skipped="${leftOut.length}">\n${cases.join('\n')}\n</testsuite>\n`
  if (!xml.includes('</testsuites>')) throw new Error(`${file} has no </testsuites>`)
  const counted = xml.replace(/<testsuites\b[^>]*>/, (tag) =>
    tag.replace(/\b(tests|skipped)="(\d+)"/g, (_, name: string, count: string) => `${name}="${Number(count) + leftOut.length}"`)
  )
  const at = counted.lastIndexOf('</testsuites>')
  await writeFile(file, `${counted.slice(0, at)}${suite}${counted.slice(at)}`)
}

const tapArguments = process.argv.slice(2)
if (process.env.TEST_SKIP_BUILD !== '1') {
  const build = spawnSync(process.execPath, ['scripts/build-if-stale.ts'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(build.status ?? 1)
}

const ledger = await mkdtemp(path.join(tmpdir(), 'mission-control-needs-'))
try {
  const tap = spawnSync(path.join(root, 'node_modules/.bin/tap'), tapArguments, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TEST_NEEDS_LEDGER: ledger }
  })
  const leftOut = await readLedger(ledger)
  const reporter = option(tapArguments, '--reporter', '-R')
  const reporterFile = option(tapArguments, '--reporter-file', '-f')
  if (reporter === 'junit' && reporterFile) await addToJunit(path.resolve(root, reporterFile), leftOut)
  process.stdout.write(summary(leftOut))
  process.exitCode = tap.status ?? 1
} finally {
  await rm(ledger, { recursive: true, force: true })
}
