// What a test file needs beyond npm and the test database, declared once at its top:
//
//   await requireNeeds(t, ['postgres-server'])
//
// When the machine lacks one, the file is left out as a whole (`1..0 # SKIP …`, the rest of the
// file never runs) and recorded, so that `npm test` (scripts/run-tests.ts) can list at its end what
// it left out and how to install it. TEST_REQUIRE_ALL=1 (CI) turns a missing need into a failure;
// TEST_SKIP_NEEDS="nginx chromium" leaves out the files with those needs even where they are met
// (buildspec.yml: what CodeBuild's image does not have). docs/pipeline.md describes both.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, readFileSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'

export const NEEDS = ['postgres-server', 'nginx', 'chromium', 'netns'] as const
export type Need = (typeof NEEDS)[number]

export interface UnmetNeed {
  need: Need
  /** What is missing, in a few words: "no nginx on the PATH". */
  lacks: string
  /** The command (or step) that provides it. */
  install: string
}

/** One file left out, as written to TEST_NEEDS_LEDGER and read back by scripts/run-tests.ts. */
export interface LeftOutFile {
  file: string
  unmet: UnmetNeed[]
}

interface Plannable {
  plan(count: number, comment?: string): void
}

/** The PostgreSQL server binaries the cluster tests run (test/support/postgres-cluster.ts). */
export function postgresBinDirectory(): string {
  return process.env.PG_BIN || '/usr/lib/postgresql/15/bin'
}

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium'
}

/** NGINX_BINARY, else the first `nginx` on the PATH; undefined when there is none. */
export function nginxBinary(): string | undefined {
  return process.env.NGINX_BINARY || findOnPath('nginx')
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
    if (directory && isExecutableFile(path.join(directory, command))) return path.join(directory, command)
  }
  return undefined
}

function isAmazonLinux(): boolean {
  try {
    return /^ID="?amzn"?$/m.test(readFileSync('/etc/os-release', 'utf8'))
  } catch {
    return false
  }
}

const isRoot = () => process.getuid?.() === 0

function systemUserExists(name: string): boolean {
  return spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0
}

/** Each need's detector: what is missing (undefined when met) and how to install it. */
function detect(need: Need): Omit<UnmetNeed, 'need'> | undefined {
  const amazonLinux = isAmazonLinux()
  const packageManager = amazonLinux ? 'dnf install -y' : 'apt-get install -y'
  switch (need) {
    case 'postgres-server': {
      const bin = postgresBinDirectory()
      if (!isExecutableFile(path.join(bin, 'initdb')) || !isExecutableFile(path.join(bin, 'pg_ctl'))) {
        return {
          lacks: `no PostgreSQL 15 server binaries (initdb, pg_ctl) in ${bin} (PG_BIN)`,
          install: amazonLinux ? 'dnf install -y postgresql15-server, then PG_BIN=/usr/bin' : 'apt-get install -y postgresql-15'
        }
      }
      // The cluster's files belong to `postgres`, and initdb and the server run as that user (runuser).
      if (!isRoot()) return { lacks: 'not running as root (the test cluster runs as the postgres user, via runuser)', install: 'run these tests as root' }
      if (!systemUserExists('postgres')) return { lacks: 'no postgres system user', install: `${packageManager} ${amazonLinux ? 'postgresql15-server' : 'postgresql-15'} (it creates the user)` }
      if (!findOnPath('openssl')) return { lacks: 'no openssl on the PATH (the test CA and certificates)', install: `${packageManager} openssl` }
      return undefined
    }
    case 'nginx':
      return nginxBinary() ? undefined : { lacks: 'no nginx on the PATH (or NGINX_BINARY)', install: `${packageManager} nginx` }
    case 'chromium':
      return isExecutableFile(chromiumPath())
        ? undefined
        : {
            lacks: `no Chromium at ${chromiumPath()} (CHROMIUM_PATH)`,
            install: amazonLinux ? 'a Chromium or Chrome binary, named by CHROMIUM_PATH' : 'apt-get install -y chromium'
          }
    case 'netns':
      if (!findOnPath('unshare')) return { lacks: 'no unshare on the PATH', install: `${packageManager} util-linux` }
      return isRoot() ? undefined : { lacks: 'not running as root (a network namespace of its own)', install: 'run these tests as root' }
  }
}

/** Needs named in TEST_SKIP_NEEDS (space- or comma-separated), checked against the known ones. */
function neededLeftOut(): Set<Need> {
  const names = (process.env.TEST_SKIP_NEEDS ?? '').split(/[\s,]+/).filter(Boolean)
  for (const name of names) {
    if (!(NEEDS as readonly string[]).includes(name)) throw new Error(`TEST_SKIP_NEEDS: unknown need "${name}" (known: ${NEEDS.join(', ')})`)
  }
  return new Set(names as Need[])
}

/** The needs this machine does not meet, in the order given. */
export function unmetNeeds(needs: readonly Need[]): UnmetNeed[] {
  const skipped = neededLeftOut()
  const unmet: UnmetNeed[] = []
  for (const need of needs) {
    const missing = detect(need)
    if (skipped.has(need)) unmet.push({ need, lacks: `left out by TEST_SKIP_NEEDS${missing ? ` (and ${missing.lacks})` : ''}`, install: missing?.install ?? 'unset TEST_SKIP_NEEDS' })
    else if (missing) unmet.push({ need, ...missing })
  }
  return unmet
}

export function describeUnmet(unmet: readonly UnmetNeed[]): string {
  return unmet.map(({ need, lacks, install }) => `needs ${need}: ${lacks}; install: ${install}`).join('; ')
}

/**
 * Declares what the test (a file's `t`, or one subtest) needs. Met: returns true. Unmet: plans no
 * tests with the reason, records the file for `npm test`'s summary and returns false; with
 * TEST_REQUIRE_ALL=1 throws instead, so the file fails.
 */
export function checkNeeds(t: Plannable, needs: readonly Need[]): boolean {
  const unmet = unmetNeeds(needs)
  if (unmet.length === 0) return true
  const file = path.relative(process.cwd(), process.argv[1] ?? 'unknown file')
  if (process.env.TEST_REQUIRE_ALL === '1') {
    throw new Error(`${file} cannot run here (TEST_REQUIRE_ALL=1): ${describeUnmet(unmet)}`)
  }
  const ledger = process.env.TEST_NEEDS_LEDGER
  if (ledger) {
    const record: LeftOutFile = { file, unmet }
    writeFileSync(path.join(ledger, `${process.pid}-${randomBytes(4).toString('hex')}.json`), JSON.stringify(record))
  }
  t.plan(0, `left out: ${describeUnmet(unmet)}`)
  return false
}

/**
 * A test file's declaration, at its top (top-level await): when a need is unmet the file is left
 * out and this never resolves, so nothing after it runs; the process then exits 0 once tap has
 * written the skip (the unsettled top-level await would otherwise make it exit 13).
 */
export async function requireNeeds(t: Plannable, needs: readonly Need[]): Promise<void> {
  if (checkNeeds(t, needs)) return
  process.once('beforeExit', () => process.exit(0))
  await new Promise<never>(() => {})
}

/** What a test file declares, read from its source (for the tests that keep declarations honest). */
export async function declaredNeeds(file: string): Promise<Need[]> {
  const text = await readFile(file, 'utf8')
  const calls = [...text.matchAll(/\b(?:requireNeeds|checkNeeds)\(t, ([^)]*)\)/g)].map((match) => match[1]!)
  return NEEDS.filter((need) => calls.some((call) => call.includes(`'${need}'`)))
}
