// A PostgreSQL 15 cluster of the test's own, set up like RDS: TLS on with certificates from a
// CA the test creates, and only `hostssl … scram-sha-256` for TCP clients. The test's superuser
// connects over the Unix socket (trust), so it can change passwords and stop the server.
import { execFile } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './free-port.js'
import { killOnExit } from './kill-on-exit.js'
import { postgresBinDirectory } from './needs.js'

const run = promisify(execFile)

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface CertificateAuthority {
  /** PEM file of the CA certificate: what DATABASE_SSL_CA_FILE points at. */
  caFile: string
  keyFile: string
}

export interface PostgresCluster {
  host: '127.0.0.1'
  port: number
  /** The CA that signed the server certificate (SAN: DNS localhost, IP 127.0.0.1 only). */
  ca: CertificateAuthority
  /** Also served, but not on the certificate: connecting here must fail hostname verification. */
  unlistedAddress: '127.0.0.2'
  /** Runs SQL as the superuser over the Unix socket, in `database` (default `postgres`). */
  admin(sqlText: string, values?: unknown[], database?: string): Promise<pg.QueryResult>
  /** Creates a login role (scram-sha-256 password) owning a new database, like the RDS master user. */
  createDatabase(name: string, user: string, password: string): Promise<void>
  /** ALTER ROLE … PASSWORD: what a rotation does to the database. Open sessions stay logged in. */
  setPassword(user: string, password: string): Promise<void>
  /** Ends every session of `user` (as a failover or connection recycling would): new ones must log in. */
  terminateSessions(user: string): Promise<number>
  start(): Promise<void>
  /**
   * Stops the server: `immediate` (default) like a crash or failover, connections die at once;
   * `fast` as an operator's restart does, sessions ended cleanly and a checkpoint written.
   */
  stop(mode?: 'immediate' | 'fast'): Promise<void>
  restart(): Promise<void>
  /** SIGSTOP (`STOP`) or SIGCONT (`CONT`) to the server and every backend: it hangs, or resumes. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void>
  /** Stops the server and deletes its directory; registered as teardown by startPostgresCluster. */
  destroy(): Promise<void>
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args)
}

/** A throwaway CA (ECDSA P-256: quick to generate, like rds-ca-ecc384-g1 in kind) in `dir`. */
export async function createCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  const caFile = path.join(dir, `${name}.crt`)
  const keyFile = path.join(dir, `${name}.key`)
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', keyFile, '-out', caFile])
  return { caFile, keyFile }
}

/** A server certificate signed by `ca` for the given subjectAltName entries. */
async function issueServerCertificate(dir: string, ca: CertificateAuthority, subjectAltName: string) {
  const keyFile = path.join(dir, 'server.key')
  const csrFile = path.join(dir, 'server.csr')
  const certFile = path.join(dir, 'server.crt')
  const extFile = path.join(dir, 'server.ext')
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', csrFile])
  await writeFile(extFile, `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`)
  await openssl(['x509', '-req', '-in', csrFile, '-CA', ca.caFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', extFile, '-out', certFile])
  return { keyFile, certFile }
}

/** Initialises and starts a cluster in a temporary directory; it is destroyed when `t` ends. */
export async function startPostgresCluster(t: Teardown): Promise<PostgresCluster> {
  const root = await mkdtemp(path.join(tmpdir(), 'mission-control-pg-'))
  const dataDir = path.join(root, 'data')
  const socketDir = path.join(root, 'socket')
  const tlsDir = path.join(root, 'tls')
  await Promise.all([mkdir(socketDir), mkdir(tlsDir)])
  // initdb refuses to run as root; the server's files and key must belong to `postgres`.
  const { stdout: uid } = await run('id', ['-u', 'postgres'])
  const { stdout: gid } = await run('id', ['-g', 'postgres'])
  const asPostgres = (command: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', path.join(postgresBinDirectory(), command), ...args])

  const ca = await createCertificateAuthority(tlsDir, 'test-ca')
  const server = await issueServerCertificate(tlsDir, ca, 'DNS:localhost,IP:127.0.0.1')
  for (const dir of [root, socketDir, tlsDir]) await chown(dir, Number(uid), Number(gid))
  await chown(server.keyFile, Number(uid), Number(gid))
  await chmod(server.keyFile, 0o600)
  await chmod(server.certFile, 0o644)

  await asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'])
  await writeFile(
    path.join(dataDir, 'pg_hba.conf'),
    ['local all postgres trust', 'hostssl all all 127.0.0.0/8 scram-sha-256', ''].join('\n')
  )
  const port = await freePort()
  const options = [
    `-p ${port}`,
    `-k ${socketDir}`,
    "-c listen_addresses='127.0.0.1,127.0.0.2'",
    '-c ssl=on',
    `-c ssl_cert_file=${server.certFile}`,
    `-c ssl_key_file=${server.keyFile}`,
    '-c password_encryption=scram-sha-256',
    '-c fsync=off',
    '-c max_connections=200'
  ].join(' ')
  const logFile = path.join(root, 'server.log')

  const admin = async (sqlText: string, values?: unknown[], database = 'postgres') => {
    const client = new pg.Client({ host: socketDir, port, user: 'postgres', database })
    await client.connect()
    try {
      return await client.query(sqlText, values)
    } finally {
      await client.end()
    }
  }
  // Identifiers and literals quoted by the server itself (format %I / %L).
  const adminFormatted = async (template: string, ...values: string[]) => {
    const placeholders = values.map((_, index) => `$${index + 1}::text`).join(', ')
    const { rows } = await admin(`select format('${template}', ${placeholders}) as statement`, values)
    await admin(rows[0].statement as string)
  }
  let running = false
  let forget = () => {}
  const postmasterPid = async () => Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const cluster: PostgresCluster = {
    host: '127.0.0.1',
    port,
    ca,
    unlistedAddress: '127.0.0.2',
    admin,
    async createDatabase(name, user, password) {
      await adminFormatted('create role %I login password %L', user, password)
      await adminFormatted('create database %I owner %I', name, user)
    },
    setPassword: (user, password) => adminFormatted('alter role %I password %L', user, password),
    async terminateSessions(user) {
      const { rowCount } = await admin(
        'select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()',
        [user]
      )
      return rowCount ?? 0
    },
    async start() {
      await asPostgres('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', 'start'])
      running = true
      // SIGQUIT: immediate shutdown, should the test end without its teardown.
      forget = killOnExit(await postmasterPid(), 'SIGQUIT')
    },
    async stop(mode = 'immediate') {
      forget()
      await asPostgres('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop'])
      running = false
    },
    async signal(signal) {
      const postmaster = await postmasterPid()
      const children = await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8')
      // The postmaster first on the way down (no new backends), last on the way up.
      const pids = [postmaster, ...children.trim().split(/\s+/).filter(Boolean).map(Number)]
      for (const pid of signal === 'SIGSTOP' ? pids : pids.reverse()) {
        try {
          process.kill(pid, signal)
        } catch (error) {
          // A backend that ended between the listing and the signal.
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
        }
      }
    },
    async restart() {
      await cluster.stop()
      await cluster.start()
    },
    async destroy() {
      await cluster.signal('SIGCONT').catch(() => {})
      if (running) await cluster.stop()
      await rm(root, { recursive: true, force: true })
    }
  }
  t.teardown(() => cluster.destroy())
  await cluster.start()
  return cluster
}
