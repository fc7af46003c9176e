// Test files that know what they need (test/support/needs.ts): a file whose need is missing is
// left out, `npm test` still passes and names it with the install command, TEST_REQUIRE_ALL=1
// makes it fail, the JUnit report lists it as skipped; and every file that starts a PostgreSQL
// cluster, nginx or Chromium declares so.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { declaredNeeds, unmetNeeds, type Need } from './support/needs.js'

const root = path.resolve(import.meta.dirname, '..')
const FIXTURE = 'test/fixtures/needs/needs-chromium-and-nginx.ts'

/** `npm test`'s script on the fixture alone, in an environment without this run's tap or CI settings. */
function runTests(environment: Record<string, string>, args: string[] = []): Promise<{ status: number | null; output: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(TAP|_TAPJS|TEST_REQUIRE_ALL$|TEST_SKIP_NEEDS$|TEST_NEEDS_LEDGER$|NODE_OPTIONS$)/.test(name))
  )
  // The suite's `before` would rebuild the database template other test files are cloning from,
  // and the build must not change under them either.
  const child = spawn(process.execPath, ['--import=tsx', 'scripts/run-tests.ts', '--before=test/fixtures/needs/no-setup.ts', ...args, FIXTURE], {
    cwd: root,
    env: { ...env, TEST_SKIP_BUILD: '1', ...environment },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, output })))
}

t.test('a missing need leaves the file out: npm test passes and says what to install', async (t) => {
  const work = await mkdtemp(path.join(tmpdir(), 'needs-test-'))
  t.teardown(() => rm(work, { recursive: true, force: true }))
  const junit = path.join(work, 'junit.xml')
  const { status, output } = await runTests({ CHROMIUM_PATH: '/nonexistent/chromium' }, ['--reporter=junit', `--reporter-file=${junit}`])
  t.equal(status, 0, 'exit 0')
  t.match(output, /Left out 1 test file/)
  t.match(output, new RegExp(`\\n  ${FIXTURE}\\n`), 'names the file')
  t.match(output, /needs chromium: no Chromium at \/nonexistent\/chromium/, 'says what it lacks')
  t.match(output, /install: (apt-get install -y chromium|a Chromium)/, 'and how to install it')
  const report = await readFile(junit, 'utf8')
  t.match(report, new RegExp(`<testcase name="${FIXTURE}" classname="left out \\(needs not met\\)"><skipped message="needs chromium`), 'the JUnit report lists it as skipped')
})

t.test('TEST_REQUIRE_ALL=1 turns the missing need into a failure', async (t) => {
  const { status, output } = await runTests({ CHROMIUM_PATH: '/nonexistent/chromium', TEST_REQUIRE_ALL: '1' }, ['--reporter=tap'])
  t.not(status, 0, 'exit status is not 0')
  t.match(output, /cannot run here \(TEST_REQUIRE_ALL=1\): needs chromium/)
  t.match(output, /# \{ total: 1, pass: 0, fail: 1 \}/)
})

t.test('detectors and TEST_SKIP_NEEDS', async (t) => {
  const saved = { ...process.env }
  t.teardown(() => {
    process.env = saved
  })
  const emptyDirectory = await mkdtemp(path.join(tmpdir(), 'needs-empty-'))
  t.teardown(() => rm(emptyDirectory, { recursive: true, force: true }))
  process.env = { ...saved, PG_BIN: emptyDirectory, CHROMIUM_PATH: '/nonexistent/chromium', PATH: emptyDirectory, TEST_SKIP_NEEDS: '' }
  delete process.env.NGINX_BINARY
  const unmet = unmetNeeds(['postgres-server', 'nginx', 'chromium', 'netns'])
  t.same(unmet.map(({ need }) => need), ['postgres-server', 'nginx', 'chromium', 'netns'], 'nothing is found without binaries')
  t.match(unmet[0]!.lacks, `no PostgreSQL 15 server binaries (initdb, pg_ctl) in ${emptyDirectory}`)
  process.env = { ...saved, TEST_SKIP_NEEDS: 'nginx, chromium' }
  t.same(unmetNeeds(['nginx', 'chromium']).map(({ lacks }) => lacks.split(' (')[0]), ['left out by TEST_SKIP_NEEDS', 'left out by TEST_SKIP_NEEDS'])
  process.env = { ...saved, TEST_SKIP_NEEDS: 'postgres' }
  t.throws(() => unmetNeeds(['nginx']), /unknown need "postgres"/, 'a misspelt need is an error, not a silent no-op')
})

t.test('every test file that starts a PostgreSQL cluster, nginx or Chromium declares it, in one place', async (t) => {
  /** What in a test file's own text shows a need; helpers it calls are listed by name. */
  const uses: [Need, RegExp][] = [
    ['postgres-server', /\b(startPostgresCluster|scratchDatabase)\(/],
    ['nginx', /\b(startNginx|testNginxConfig|Fleet\.create)\(/],
    ['chromium', /\b(chromium\.launch|launchChromium)\(/],
    ['netns', /\bunshare\b/]
  ]
  const files = [
    ...(await readdir(path.join(root, 'test'), { recursive: true })).filter((file) => file.endsWith('.test.ts')).map((file) => path.join(root, 'test', file)),
    ...(await readdir(path.join(root, 'infra/test'))).filter((file) => file.endsWith('.test.ts')).map((file) => path.join(root, 'infra/test', file))
  ]
  let declaring = 0
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    const declarations = text.match(/\b(requireNeeds|checkNeeds)\(t, /g)?.length ?? 0
    const declared = await declaredNeeds(file)
    if (declarations > 0) declaring++
    t.ok(declarations <= 1, `${path.relative(root, file)} declares its needs in one place`)
    for (const [need, pattern] of uses) {
      if (pattern.test(text)) t.ok(declared.includes(need), `${path.relative(root, file)} declares ${need}`)
    }
  }
  t.ok(declaring >= 8, `${declaring} test files declare needs`)
})
