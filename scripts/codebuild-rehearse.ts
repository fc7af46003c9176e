// `npm run codebuild:rehearse [-- --source <dir>] [--keep]`: runs buildspec.yml the way CodeBuild
// runs it, on a copy of the working tree, in an environment shaped like CodeBuild's standard
// image, then checks what CodePipeline would take from the build. docs/pipeline.md says what this
// proves and what only a real CodeBuild run can.
//
// - The copy: the files git would commit (tracked and untracked-not-ignored, as they are now),
//   without .git, as CodePipeline's source zip arrives.
// - The environment: Node 22 (the `node` devDependency) first on the PATH; no nginx, Chromium or
//   PostgreSQL server binaries reachable (PATH without them, CHROMIUM_PATH at nothing, PG_BIN an
//   empty directory); CODEBUILD_SRC_DIR; of this shell's environment only PATH, HOME and the
//   network settings (proxy, CA) npm needs to reach the registry from this machine.
// - Stand-ins, only for what is out of reach: `runtime-versions` is checked to name the Node major
//   of the `node` devDependency (not installed), and the RDS CA download fetches a generated CA
//   from a local HTTPS server (scripts/buildspec.ts: standIns).
// - The checks: the JUnit files of `reports` exist and list every test file (run, or left out
//   with its reason); `artifacts.base-directory` holds exactly the bundle scripts/bundle.ts
//   describes; the `cache` paths exist.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { globToRegExp, parseBuildspec, planCommands, runBuild, seconds, standIns, type Buildspec, type BuildResult } from './buildspec.js'

const repositoryRoot = path.resolve(import.meta.dirname, '..')

/**
 * This machine's network settings, passed through: npm must reach the registry from here as it
 * does from CodeBuild (a proxy, or a TLS-inspecting CA in the system store, say).
 */
const NETWORK_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR']

/** What CodeBuild's standard image does not have; hidden from the build's PATH. */
const HIDDEN_TOOLS = ['nginx', 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'initdb', 'pg_ctl', 'pg_ctlcluster', 'postgres']

const { values: options } = parseArgs({
  options: {
    source: { type: 'string', default: repositoryRoot },
    keep: { type: 'boolean', default: false }
  }
})

const say = (line = '') => process.stdout.write(`${line}\n`)
const problems: string[] = []

/** The working tree as git would commit it now: tracked and untracked-not-ignored files, no .git. */
async function copyTree(source: string, target: string): Promise<number> {
  const listing = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: source, maxBuffer: 64 * 1024 * 1024 })
  let copied = 0
  for (const file of new Set(listing.toString('utf8').split('\0').filter(Boolean))) {
    const from = path.join(source, file)
    const stats = await lstat(from).catch(() => undefined)
    if (!stats) continue // deleted in the working tree: not part of what would be committed
    const to = path.join(target, file)
    await mkdir(path.dirname(to), { recursive: true })
    if (stats.isSymbolicLink()) await symlink(await readlink(from), to)
    else {
      await copyFile(from, to)
      await chmod(to, stats.mode & 0o777)
    }
    copied++
  }
  return copied
}

/** A throwaway CA whose certificate stands in for the RDS bundle, and a 127.0.0.1 server certificate it signs. */
async function generateCertificates(directory: string) {
  await mkdir(directory, { recursive: true })
  const file = (name: string) => path.join(directory, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...curve, '-sha256', '-days', '1', '-subj', '/CN=codebuild-rehearsal stand-in for the RDS CA bundle',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', file('ca.key'), '-out', file('ca.crt'))
  openssl('req', ...curve, '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'))
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-sha256',
    '-extfile', file('server.ext'), '-out', file('server.crt'))
  return { caFile: file('ca.crt'), keyFile: file('server.key'), certFile: file('server.crt') }
}

/** The PATH of the build: Node 22 first, then this PATH without node_modules and with the hidden tools left out. */
async function buildPath(work: string): Promise<string> {
  const runtime = path.join(work, 'runtime/bin')
  await mkdir(runtime, { recursive: true })
  await symlink(process.execPath, path.join(runtime, 'node'))
  const directories = [runtime]
  for (const directory of new Set((process.env.PATH ?? '').split(path.delimiter))) {
    // npm run's own additions (this tree's node_modules/.bin, npm's node-gyp-bin) are not the image's.
    if (!directory || directory.includes('node_modules') || !existsSync(directory)) continue
    const entries = await readdir(directory).catch(() => [] as string[])
    if (!entries.some((entry) => HIDDEN_TOOLS.includes(entry))) {
      directories.push(directory)
      continue
    }
    // The same directory, through links, without the hidden tools.
    const shadow = path.join(work, 'path', String(directories.length))
    await mkdir(shadow, { recursive: true })
    for (const entry of entries) {
      if (!HIDDEN_TOOLS.includes(entry)) await symlink(path.join(directory, entry), path.join(shadow, entry))
    }
    directories.push(shadow)
  }
  return directories.join(path.delimiter)
}

function checkRuntimeVersions(spec: Buildspec, packageJson: { devDependencies?: Record<string, string> }): void {
  for (const runtime of Object.keys(spec.runtimeVersions)) {
    if (runtime !== 'nodejs') problems.push(`runtime-versions: ${runtime} is not rehearsed (only nodejs is)`)
  }
  const pinned = /(\d+)/.exec(packageJson.devDependencies?.node ?? '')?.[1]
  const named = /^(\d+)/.exec(spec.runtimeVersions.nodejs ?? '')?.[1]
  const running = /^v(\d+)/.exec(process.version)?.[1]
  if (!named) problems.push('runtime-versions names no nodejs version')
  else if (named !== pinned) problems.push(`runtime-versions names nodejs ${named}, the \`node\` devDependency is ${packageJson.devDependencies?.node}`)
  else if (running !== named) problems.push(`the rehearsal runs on Node ${process.version}, not ${named}: start it with \`npm run codebuild:rehearse\``)
  else say(`runtime-versions: nodejs ${named} (stand-in: Node ${process.version} of the \`node\` devDependency, first on the build's PATH)`)
}

/** Every file below directory, relative with forward slashes. */
async function listFiles(directory: string, prefix = ''): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(path.join(directory, prefix), { withFileTypes: true }).catch(() => [])) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) files.push(...(await listFiles(directory, relative)))
    else files.push(relative)
  }
  return files
}

const unescapeXml = (text: string) =>
  text.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[entity]!)

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex')

interface JunitCounts {
  total: number
  passed: number
  failed: number
  skipped: number
}

/** The report groups' JUnit files: present, and naming every test file (run, or left out). */
async function checkReports(spec: Buildspec, source: string, succeeded: boolean): Promise<JunitCounts> {
  const counts: JunitCounts = { total: 0, passed: 0, failed: 0, skipped: 0 }
  const testFiles = (await listFiles(path.join(source, 'test'))).filter((file) => file.endsWith('.test.ts')).map((file) => `test/${file}`)
  for (const [name, group] of Object.entries(spec.reports)) {
    const base = path.join(source, group.baseDirectory)
    const all = await listFiles(base)
    const matched = all.filter((file) => group.files.some((pattern) => globToRegExp(pattern).test(file)))
    if (matched.length === 0) {
      problems.push(`report ${name}: no file matches ${group.files.join(', ')} in ${group.baseDirectory}`)
      continue
    }
    for (const file of matched) {
      const xml = await readFile(path.join(base, file), 'utf8')
      const total = xml.match(/<testcase\b/g)?.length ?? 0
      const failed = (xml.match(/<failure\b/g)?.length ?? 0) + (xml.match(/<error\b/g)?.length ?? 0)
      const skipped = xml.match(/<skipped\b/g)?.length ?? 0
      Object.assign(counts, { total: counts.total + total, failed: counts.failed + failed, skipped: counts.skipped + skipped })
      counts.passed += total - failed - skipped
      say(`report ${name}: ${group.baseDirectory}/${file}: ${total} test cases, ${total - failed - skipped} passed, ${failed} failed, ${skipped} skipped`)
      // The build log shows no test output (tap writes the report instead): name what failed.
      for (const failure of [...xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)" classname="([^"]*)"[^>]*>\s*<(?:failure|error)\b/g)].slice(0, 20)) {
        say(`  failed: ${unescapeXml(failure[2]!)} > ${unescapeXml(failure[1]!)}`)
      }
      if (total === 0) problems.push(`report ${name}: ${file} holds no test case`)
      if (failed > 0 && succeeded) problems.push(`report ${name}: ${file} records ${failed} failures, yet the build succeeded`)
      const unlisted = testFiles.filter((testFile) => !xml.includes(`<testsuite name="${testFile}"`) && !xml.includes(`<testcase name="${testFile}"`))
      if (unlisted.length > 0) problems.push(`report ${name}: ${file} does not list ${unlisted.join(', ')}`)
    }
  }
  return counts
}

/** The bundle as scripts/bundle.ts describes it: its SHIPPED_PATHS, the RDS CA file, node_modules. */
async function describedBundle(source: string): Promise<{ shipped: string[]; caFile: string }> {
  const script = await readFile(path.join(source, 'scripts/bundle.ts'), 'utf8')
  const list = /const SHIPPED_PATHS = \[([^\]]*)\]/.exec(script)?.[1]
  const caFile = /const RDS_CA_FILE = '([^']+)'/.exec(script)?.[1]
  if (!list || !caFile) throw new Error('scripts/bundle.ts: SHIPPED_PATHS or RDS_CA_FILE not found (the rehearsal reads them)')
  return { shipped: [...list.matchAll(/'([^']+)'/g)].map((match) => match[1]!), caFile }
}

/** artifacts: exactly the bundle, byte for byte against the build's tree. */
async function checkArtifacts(spec: Buildspec, source: string, servedCa: string): Promise<number> {
  const base = path.join(source, spec.artifacts.baseDirectory)
  const artifact = (await listFiles(base)).filter((file) => spec.artifacts.files.some((pattern) => globToRegExp(pattern).test(file)))
  const { shipped, caFile } = await describedBundle(source)
  const expected = new Map<string, string>() // artifact path → file in the build's tree
  for (const entry of shipped) {
    const files = (await lstat(path.join(source, entry)).catch(() => undefined))?.isDirectory()
      ? (await listFiles(path.join(source, entry))).map((file) => `${entry}/${file}`)
      : [entry]
    for (const file of files) expected.set(file, path.join(source, file))
  }
  const present = new Set(artifact)
  for (const [file, original] of expected) {
    if (!present.has(file)) problems.push(`artifact lacks ${file}`)
    else if ((await sha256(path.join(base, file))) !== (await sha256(original))) problems.push(`artifact's ${file} differs from the build's`)
  }
  if (!present.has(caFile)) problems.push(`artifact lacks ${caFile}`)
  else if ((await readFile(path.join(base, caFile), 'utf8')) !== servedCa) problems.push(`artifact's ${caFile} is not the CA bundle the build downloaded`)

  // node_modules: the lock file's production tree (optional packages may be absent), nothing of dev's.
  const lock = JSON.parse(await readFile(path.join(source, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>
  }
  for (const [packagePath, entry] of Object.entries(lock.packages)) {
    if (!packagePath.startsWith('node_modules/')) continue
    const installed = present.has(`${packagePath}/package.json`)
    if (entry.dev && installed) problems.push(`artifact holds the dev package ${packagePath}`)
    if (!entry.dev && !entry.optional && !entry.devOptional && !installed) problems.push(`artifact lacks the production package ${packagePath}`)
  }
  const unexpected = artifact.filter((file) => !expected.has(file) && file !== caFile && !file.startsWith('node_modules/'))
  if (unexpected.length > 0) problems.push(`artifact holds files the bundle does not describe: ${unexpected.slice(0, 10).join(', ')}`)
  const topLevel = [...new Set(artifact.map((file) => file.split('/')[0]))].sort()
  say(`artifacts: ${spec.artifacts.baseDirectory}: ${artifact.length} files; top level: ${topLevel.join(' ')}`)
  return artifact.length
}

/** cache: each path's fixed prefix exists and holds something after the build. */
async function checkCache(spec: Buildspec, home: string): Promise<void> {
  for (const pattern of spec.cachePaths) {
    const fixed = pattern.split(/[*?]/)[0]!.replace(/\/+$/, '')
    // CodeBuild runs as root; here HOME may be another user's.
    const local = fixed.startsWith('/root') && home !== '/root' ? path.join(home, fixed.slice('/root'.length)) : fixed
    const entries = await readdir(local).catch(() => undefined)
    if (!entries || entries.length === 0) problems.push(`cache path ${pattern}: ${local} is missing or empty after the build`)
    else say(`cache: ${pattern}: ${local} holds ${entries.length} entries`)
  }
}

const startedAt = performance.now()
const work = await mkdtemp(path.join(tmpdir(), 'codebuild-rehearsal-'))
const source = path.join(work, 'src')
let result: BuildResult | undefined
let junit: JunitCounts | undefined
let server: Server | undefined
try {
  say(`== codebuild:rehearse: ${path.resolve(options.source)} → ${source}`)
  const copyStart = performance.now()
  const copied = await copyTree(path.resolve(options.source), source)
  say(`copied ${copied} files (tracked and untracked-not-ignored, no .git) in ${seconds(performance.now() - copyStart)}`)
  const spec = parseBuildspec(await readFile(path.join(source, 'buildspec.yml'), 'utf8'))
  checkRuntimeVersions(spec, JSON.parse(await readFile(path.join(source, 'package.json'), 'utf8')))

  // The RDS CA download's stand-in: the same curl, against a local HTTPS server.
  const certificates = await generateCertificates(path.join(work, 'ca'))
  const servedCa = await readFile(certificates.caFile, 'utf8')
  const caServer = createServer({ key: await readFile(certificates.keyFile), cert: await readFile(certificates.certFile) }, (request, response) => {
    if (request.url === '/global/global-bundle.pem') response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(servedCa)
    else response.writeHead(404).end()
  })
  server = caServer
  await new Promise<void>((resolve) => caServer.listen(0, '127.0.0.1', resolve))
  const caBundleUrl = `https://127.0.0.1:${(caServer.address() as AddressInfo).port}/global/global-bundle.pem`
  const plan = planCommands(spec, standIns({ caBundleUrl, serverCaFile: certificates.caFile }))

  const emptyPgBin = path.join(work, 'no-postgresql-server')
  await mkdir(emptyPgBin)
  const home = process.env.HOME ?? '/root'
  const environment: Record<string, string> = {
    ...Object.fromEntries(NETWORK_VARIABLES.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
    PATH: await buildPath(work),
    HOME: home,
    LANG: 'C.UTF-8',
    CODEBUILD_CI: 'true',
    CODEBUILD_BUILD_ID: `codebuild-rehearsal:${path.basename(work)}`,
    CHROMIUM_PATH: '/nonexistent/chromium',
    PG_BIN: emptyPgBin
  }
  say(`environment: Node ${process.version} first on the PATH; hidden: ${HIDDEN_TOOLS.join(' ')}; CHROMIUM_PATH=${environment.CHROMIUM_PATH}; PG_BIN=${emptyPgBin} (empty)`)
  if (problems.length === 0) {
    say(`plan: ${plan.length} commands in ${new Set(plan.map((step) => step.phase)).size} phases, ${plan.filter((step) => step.standIn).length} through a stand-in`)
    result = await runBuild(spec, plan, { sourceDirectory: source, environment })
    say('\n== what CodePipeline would take')
    // CodeBuild uploads the reports whatever the build's outcome; artifacts only matter if it succeeded.
    junit = await checkReports(spec, source, result.succeeded)
    if (result.succeeded) {
      await checkArtifacts(spec, source, servedCa)
      await checkCache(spec, home)
    } else {
      problems.push('the build FAILED (CodeBuild uploads no artifact CodePipeline could deploy)')
    }
  }
} catch (error) {
  problems.push((error as Error).message)
} finally {
  server?.close()
  if (options.keep) say(`kept ${work}`)
  else await rm(work, { recursive: true, force: true })
}

say('\n== codebuild:rehearse summary')
for (const phase of result?.phases ?? []) {
  const failed = phase.commands.find((command) => command.status !== 0)
  say(`  ${phase.phase.padEnd(10)} ${phase.status.padEnd(9)} ${seconds(phase.milliseconds).padStart(8)}${failed ? `  failed: ${failed.command}` : ''}`)
}
if (junit) say(`rehearsal junit: total=${junit.total} passed=${junit.passed} failed=${junit.failed} skipped=${junit.skipped}`)
for (const problem of problems) say(`  !! ${problem}`)
say(`codebuild:rehearse: ${problems.length === 0 ? 'SUCCEEDED' : 'FAILED'} in ${seconds(performance.now() - startedAt)}`)
process.exitCode = problems.length === 0 ? 0 : 1
