// buildspec.yml and its local rehearsal (scripts/codebuild-rehearse.ts, run by .ci/run) kept in
// step: the rehearsal runs every phase and command of the buildspec (stand-ins named and
// documented), refuses buildspec features it does not implement, has CodeBuild's phase semantics,
// and every test file the buildspec leaves out is one .ci/run runs.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { PHASES, globToRegExp, parseBuildspec, planCommands, runBuild, standIns, type Phase } from '../scripts/buildspec.js'
import { declaredNeeds } from './support/needs.js'

const root = path.resolve(import.meta.dirname, '..')
const buildspecText = await readFile(path.join(root, 'buildspec.yml'), 'utf8')
const local = { caBundleUrl: 'https://127.0.0.1:1/global/global-bundle.pem', serverCaFile: '/tmp/ca.crt' }

t.test('the rehearsal runs every phase and every command of buildspec.yml, in order', async (t) => {
  const raw = parseYaml(buildspecText) as { phases: Record<string, { commands?: string[] }> }
  const spec = parseBuildspec(buildspecText)
  const plan = planCommands(spec, standIns(local))
  for (const phase of Object.keys(raw.phases)) t.ok(PHASES.includes(phase as Phase), `phase ${phase} is one the rehearsal runs`)
  for (const phase of PHASES) {
    t.same(
      plan.filter((step) => step.phase === phase).map((step) => step.command),
      raw.phases[phase]?.commands ?? [],
      `${phase}: the plan holds the buildspec's commands`
    )
  }
  t.same([...new Set(plan.map((step) => step.phase))], PHASES.filter((phase) => (raw.phases[phase]?.commands ?? []).length > 0), "CodeBuild's phase order")
  const pipelineDoc = await readFile(path.join(root, 'docs/pipeline.md'), 'utf8')
  for (const step of plan) {
    if (!step.standIn) t.equal(step.run, step.command, `runs as written: ${step.command}`)
    else {
      t.not(step.run, step.command, `stand-in "${step.standIn}" replaces: ${step.command}`)
      t.ok(pipelineDoc.includes(step.standIn), `docs/pipeline.md describes the stand-in "${step.standIn}"`)
    }
  }
  t.equal(spec.runtimeVersions.nodejs, '22', 'runtime-versions names Node 22')
})

t.test('buildspec features the rehearsal does not implement are refused, not skipped', async (t) => {
  const base = parseYaml(buildspecText) as Record<string, unknown>
  const variant = (change: (spec: Record<string, any>) => void) => {
    const copy = structuredClone(base) as Record<string, any>
    change(copy)
    return JSON.stringify(copy)
  }
  const refused: [string, string][] = [
    ['a phase CodeBuild does not have', variant((spec) => (spec.phases.deploy = { commands: ['echo'] }))],
    ['finally', variant((spec) => (spec.phases.build.finally = ['echo']))],
    ['on-failure', variant((spec) => (spec.phases.build['on-failure'] = 'CONTINUE'))],
    ['env.shell', variant((spec) => (spec.env.shell = 'bash'))],
    ['env.secrets-manager', variant((spec) => (spec.env['secrets-manager'] = { TOKEN: 'x' }))],
    ['artifacts.discard-paths', variant((spec) => (spec.artifacts['discard-paths'] = 'yes'))],
    ['secondary artifacts', variant((spec) => (spec.artifacts['secondary-artifacts'] = {}))],
    ['batch builds', variant((spec) => (spec.batch = {}))],
    ['version 0.1', variant((spec) => (spec.version = 0.1))],
    ['a report in another format', variant((spec) => (spec.reports.tests['file-format'] = 'CUCUMBERJSON'))]
  ]
  for (const [what, text] of refused) t.throws(() => parseBuildspec(text), /not rehearsed/, what)
  const withoutCa = variant((spec) => (spec.phases.pre_build.commands = spec.phases.pre_build.commands.filter((command: string) => !command.includes('truststore'))))
  t.throws(() => planCommands(parseBuildspec(withoutCa), standIns(local)), /replaces 0 commands/, 'a stand-in that matches nothing is an error')
})

t.test("CodeBuild's semantics: shared shell state, a failing command stops the build, post_build still runs", async (t) => {
  const directory = await mkdtemp(path.join(tmpdir(), 'buildspec-semantics-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const quiet = { sourceDirectory: directory, environment: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, log: () => {} }
  const read = (file: string) => readFile(path.join(directory, file), 'utf8').then((text) => text.trim())
  const spec = parseBuildspec(`
version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - echo "$GREETING $CODEBUILD_BUILD_SUCCEEDING" > install.txt
      - export CARRIED=yes
      - mkdir sub && cd sub
  pre_build:
    commands:
      - pwd > ../cwd.txt; echo "$CARRIED" > ../carried.txt
  build:
    commands:
      - echo built > ../build.txt
      - exit 3
      - echo never > ../never.txt
  post_build:
    commands:
      - echo "$CODEBUILD_BUILD_SUCCEEDING $CODEBUILD_SRC_DIR" > ../post_build.txt
artifacts:
  files: ['**/*']
`)
  const result = await runBuild(spec, planCommands(spec, []), quiet)
  t.equal(result.succeeded, false, 'the build failed')
  t.same(result.phases.map((phase) => phase.status), ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED'])
  t.same(result.phases[2]!.commands.map((command) => command.status), [0, 3], 'build stopped at the failing command')
  t.equal(await read('install.txt'), 'hello 1', 'env.variables, and CODEBUILD_BUILD_SUCCEEDING=1 while succeeding')
  t.equal(await read('cwd.txt'), path.join(directory, 'sub'), 'the working directory carries over')
  t.equal(await read('carried.txt'), 'yes', 'exported variables carry over')
  t.notOk(existsSync(path.join(directory, 'never.txt')), 'nothing after the failing command ran')
  t.equal(await read('post_build.txt'), `0 ${directory}`, 'post_build ran with CODEBUILD_BUILD_SUCCEEDING=0 and CODEBUILD_SRC_DIR')

  const failingPreBuild = parseBuildspec(`
version: 0.2
phases:
  pre_build:
    commands: ['false']
  build:
    commands: ['touch build-ran']
  post_build:
    commands: ['touch post-build-ran']
artifacts:
  files: ['**/*']
`)
  const early = await runBuild(failingPreBuild, planCommands(failingPreBuild, []), quiet)
  t.same(early.phases.map((phase) => phase.status), ['SUCCEEDED', 'FAILED', 'NOT RUN', 'NOT RUN'], 'a failed pre_build ends the build')
  t.notOk(existsSync(path.join(directory, 'sub/build-ran')) || existsSync(path.join(directory, 'build-ran')))
})

t.test('every test file buildspec.yml leaves out is one .ci/run runs', async (t) => {
  const spec = parseBuildspec(buildspecText)
  const commands = Object.values(spec.phases).flat()
  t.notOk(commands.some((command) => /--exclude|\btap\b/.test(command)), 'the buildspec runs the tests through npm test, without an exclusion list of its own')
  const skipped = (spec.variables.TEST_SKIP_NEEDS ?? '').split(/[\s,]+/).filter(Boolean)
  const testFiles = (await readdir(path.join(root, 'test'), { recursive: true })).filter((file) => file.endsWith('.test.ts')).map((file) => `test/${file}`)
  const leftOut: string[] = []
  for (const file of testFiles) {
    if ((await declaredNeeds(path.join(root, file))).some((need) => skipped.includes(need))) leftOut.push(file)
  }
  t.ok(leftOut.includes('test/tls.test.ts') && leftOut.includes('test/eb-run.test.ts'), `left out on CodeBuild: ${leftOut.join(', ')}`)

  const ci = await readFile(path.join(root, '.ci/run'), 'utf8')
  const firstTestRun = ci.search(/^.*npm test\b/m)
  t.match(ci.slice(0, firstTestRun), /^export TEST_REQUIRE_ALL=1$/m, '.ci/run sets TEST_REQUIRE_ALL=1 before its test runs: a missing need fails CI')
  t.notMatch(ci, /TEST_SKIP_NEEDS/, '.ci/run leaves nothing out by need')
  const runs = [...ci.matchAll(/^.*\bnpm test\b(.*)$/gm)].filter((match) => !match[0].includes('infra')).map((match) => match[1]!)
  t.ok(runs.length > 0, '.ci/run runs npm test')
  for (const file of leftOut) {
    const runningIt = runs.filter((args) => {
      const words = args.split(/\s+/).filter(Boolean)
      const named = words.filter((word) => word.startsWith('test/'))
      const excluded = words.filter((word) => word.startsWith('--exclude')).map((word) => word.replace(/^--exclude=?/, '').replace(/^['"]|['"]$/g, ''))
      return (named.length === 0 || named.includes(file)) && !excluded.some((pattern) => globToRegExp(pattern).test(file))
    })
    t.ok(runningIt.length > 0, `.ci/run runs ${file}`)
  }
})
