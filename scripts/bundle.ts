// `npm run bundle` (after `npm run build`): the Elastic Beanstalk source bundle, build/app.zip,
// and the same files unzipped in build/app/ (CodeBuild's artifact, see buildspec.yml).
// Everything sits at the zip root; node_modules holds production dependencies only, so the
// instance never runs `npm install`. Entries are sorted with a fixed time and normalised
// modes, so building the same tree twice gives the same zip.
//
//   node --import=tsx scripts/bundle.ts [--out <file.zip>] [--without-rds-ca]
//
// --without-rds-ca skips the RDS CA bundle (certs/rds-global-bundle.pem, downloaded by
// buildspec.yml); only for bundles that never talk to RDS, such as the tests'.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { cp, lstat, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import yazl from 'yazl'

const root = path.resolve(import.meta.dirname, '..')

/** The RDS CA bundle inside the bundle; infra sets DATABASE_SSL_CA_FILE to it. */
const RDS_CA_FILE = 'certs/rds-global-bundle.pem'

/** Repository paths copied into the bundle as they are. */
const SHIPPED_PATHS = [
  'Procfile',
  '.ebextensions',
  '.platform',
  'package.json',
  'package-lock.json',
  'dist/app',
  'dist/migrations',
  'client-dist'
]

/** Files the service cannot start without; their absence means `npm run build` did not run. */
const BUILD_OUTPUTS = ['dist/app/server.js', 'dist/app/service.js', 'dist/app/database/migrate-cli.js', 'dist/migrations', 'client-dist/index.html']

/** Never loaded at run time: type declarations, source maps of dependencies, npm's own bookkeeping. */
const DEPENDENCY_FILES_LEFT_OUT = [/\.d\.[cm]?ts$/, /\.map$/]
const DEPENDENCY_DIRECTORIES_LEFT_OUT = new Set(['.bin'])

/** 1 January 2000 UTC: any fixed time works; the zip's DOS format cannot store 1970. */
const FIXED_MTIME = new Date(Date.UTC(2000, 0, 1))

interface BundleResult {
  zipFile: string
  directory: string
  files: string[]
  bytes: number
}

async function createBundle({ zipFile, withRdsCa }: { zipFile: string; withRdsCa: boolean }): Promise<BundleResult> {
  const missing = BUILD_OUTPUTS.filter((file) => !existsSync(path.join(root, file)))
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run \`npm run build\` first`)
  const shipped = [...SHIPPED_PATHS]
  if (withRdsCa) {
    const ca = path.join(root, RDS_CA_FILE)
    if (!existsSync(ca) || !(await readFile(ca, 'utf8')).includes('BEGIN CERTIFICATE')) {
      throw new Error(
        `missing ${RDS_CA_FILE}: curl -fsS --proto =https -o ${RDS_CA_FILE} https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem`
      )
    }
    shipped.push(RDS_CA_FILE)
  }

  const directory = zipFile.replace(/\.zip$/, '')
  await rm(directory, { recursive: true, force: true })
  await mkdir(directory, { recursive: true })
  for (const entry of shipped) {
    await cp(path.join(root, entry), path.join(directory, entry), { recursive: true })
  }
  await installProductionDependencies(directory)

  const files = (await listFiles(directory)).sort()
  await writeZip(directory, files, zipFile)
  return { zipFile, directory, files, bytes: (await stat(zipFile)).size }
}

/**
 * Exactly the lock file's production tree, pruned. A tree already installed for the same lock
 * file and Node version (build/.production-dependencies/) is copied instead of installed again.
 */
async function installProductionDependencies(directory: string): Promise<void> {
  const lockFile = await readFile(path.join(directory, 'package-lock.json'))
  const key = createHash('sha256').update(lockFile).update(process.version).digest('hex').slice(0, 16)
  const cached = path.join(root, 'build', '.production-dependencies', key)
  const nodeModules = path.join(directory, 'node_modules')
  if (existsSync(cached)) {
    await cp(cached, nodeModules, { recursive: true })
    return
  }
  runNpmCi(directory)
  await pruneDependencies(nodeModules)
  // Copy under a unique name, then rename: a concurrent bundle never sees a half-written cache.
  const partial = `${cached}.${process.pid}`
  await cp(nodeModules, partial, { recursive: true })
  await rename(partial, cached).catch(() => rm(partial, { recursive: true, force: true }))
  // Trees for older lock files are never used again.
  for (const stale of await readdir(path.dirname(cached))) {
    if (stale !== key && !stale.includes('.')) await rm(path.join(path.dirname(cached), stale), { recursive: true, force: true })
  }
}

function runNpmCi(directory: string): void {
  // No install scripts run: no production dependency needs one.
  const result = spawnSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    { cwd: directory, stdio: ['ignore', 'inherit', 'inherit'] }
  )
  if (result.status !== 0) throw new Error(`npm ci --omit=dev failed in ${directory} (${result.error?.message ?? `exit ${result.status}`})`)
}

async function pruneDependencies(directory: string): Promise<void> {
  await rm(path.join(directory, '.package-lock.json'), { force: true })
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const entryPath = path.join(directory, entry.name)
    if (entry.isDirectory()) {
      if (DEPENDENCY_DIRECTORIES_LEFT_OUT.has(entry.name)) await rm(entryPath, { recursive: true })
      else await pruneDependencies(entryPath)
    } else if (DEPENDENCY_FILES_LEFT_OUT.some((pattern) => pattern.test(entry.name))) {
      await rm(entryPath)
    }
  }
}

/** Every file below directory, relative with forward slashes; a symlink is an error (zip tools disagree on them). */
async function listFiles(directory: string, prefix = ''): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(path.join(directory, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) files.push(...(await listFiles(directory, relative)))
    else if (entry.isFile()) files.push(relative)
    else throw new Error(`${relative} is neither a file nor a directory`)
  }
  return files
}

async function writeZip(directory: string, files: string[], zipFile: string): Promise<void> {
  const zip = new yazl.ZipFile()
  for (const file of files) {
    const { mode } = await lstat(path.join(directory, file))
    // Executable stays executable (hooks), everything else is plain 0644.
    const unixMode = 0o100000 | (mode & 0o111 ? 0o755 : 0o644)
    zip.addFile(path.join(directory, file), file, { mtime: FIXED_MTIME, mode: unixMode, compressionLevel: 6 })
  }
  zip.end()
  await mkdir(path.dirname(zipFile), { recursive: true })
  await pipeline(zip.outputStream, createWriteStream(zipFile))
}

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'build/app.zip' }, 'without-rds-ca': { type: 'boolean', default: false } }
})
const startedAt = Date.now()
try {
  // build/app.zip's files also stay unzipped next to it, in build/app/.
  if (!values.out.endsWith('.zip')) throw new Error(`--out must name a .zip file (got ${values.out})`)
  const bundle = await createBundle({ zipFile: path.resolve(values.out), withRdsCa: !values['without-rds-ca'] })
  const megabytes = (bundle.bytes / 1024 / 1024).toFixed(1)
  process.stdout.write(
    `${path.relative(process.cwd(), bundle.zipFile)}: ${bundle.files.length} files, ${megabytes} MB, ${Date.now() - startedAt} ms\n`
  )
} catch (error) {
  process.stderr.write(`bundle: ${(error as Error).message}\n`)
  process.exitCode = 1
}
