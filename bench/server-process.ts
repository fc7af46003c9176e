import { spawn } from 'node:child_process'
import path from 'node:path'
import { freePort } from '../test/support/free-port.js'

const root = path.resolve(import.meta.dirname, '..')

export interface Server {
  baseUrl: string
  pid: number
  startToHealthyMs: number
  stop(): Promise<void>
}

/**
 * Starts a server process of the benchmarks (the compiled service, or a `.ts` script such as the
 * anchor, through tsx) on a free loopback port; waits for `readyPath` to answer 200 and measures
 * start → healthy.
 */
export async function startServer(script: string, env: Record<string, string>, readyPath: string): Promise<Server> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const started = performance.now()
  const child = spawn(process.execPath, [...(script.endsWith('.ts') ? ['--import=tsx'] : []), script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
    if ((await fetch(`${baseUrl}${readyPath}`).then((r) => r.status, () => 0)) === 200) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const startToHealthyMs = Math.round(performance.now() - started)
  return {
    baseUrl,
    pid: child.pid!,
    startToHealthyMs,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * The compiled service at production settings (NODE_ENV=production, the default log level) on
 * `databaseUrl`, without the SpaceX sync at start, and with the per-IP and per-operator limits off:
 * one loopback client would only measure them.
 */
export function startService(databaseUrl: string, env: Record<string, string> = {}): Promise<Server> {
  return startServer(
    'dist/app/server.js',
    {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      SPACEX_SYNC_ON_START: 'false',
      RATE_LIMIT_IP_READS_PER_MINUTE: '0',
      RATE_LIMIT_IP_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0',
      ...env
    },
    '/health'
  )
}
