// A fleet on this machine, shaped like the Elastic Beanstalk environment: instances of the built
// bundle, each its unzipped version + predeploy hook + the Procfile's web process + the bundle's
// own nginx (EB's layout), behind one more nginx standing in for the ALB. That one round-robins
// with passive health checks (a failed connection marks the instance down and the request goes
// to the next one) and mirrors deregistration: the instance leaves the upstream (config change +
// reload), the deregistration delay passes, then the web process gets SIGTERM.
import { type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  buildBundle,
  bundleEnvironment,
  extractZip,
  instanceEnvironment,
  layOutNginx,
  runHookPhase,
  startNginx,
  startWebProcess,
  temporaryDirectory,
  testNginxConfig,
  type WebProcess
} from '../fixtures/eb/harness.js'
import { freePort } from '../support/free-port.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** One application version: the bundle unzipped, perhaps changed (a new migration, a version number). */
export interface Version {
  name: string
  directory: string
}

export interface Instance {
  id: string
  version: Version
  /** Where the bundle's nginx listens: what the ALB stand-in forwards to. */
  nginxPort: number
  /** Where the web process listens (PORT): only the instance's own nginx talks to it. */
  appPort: number
  web: WebProcess
  nginx: ChildProcess
}

export interface FleetOptions {
  /** DATABASE_URL and friends. */
  database: Record<string, string>
  /** The ALB's DeregistrationDelay, scaled down (the bundle says 35 s). */
  deregistrationDelayMs?: number
  /** More environment for every hook and web process (e.g. SHUTDOWN_DRAIN_MS). */
  environment?: Record<string, string>
}

/** Each web process records its event-loop delay (test/fleet/event-loop-probe.ts) in its instance directory. */
const PROBE = path.join(import.meta.dirname, 'event-loop-probe.ts')

export class Fleet {
  readonly instances: Instance[] = []
  /** The ALB stand-in, where clients connect. */
  readonly url: string
  readonly #t: Teardown
  readonly #work: string
  readonly #zipFile: string
  readonly #options: FleetOptions
  readonly #albPrefix: string
  readonly #albPort: number
  #alb!: ChildProcess
  #registered: Instance[] = []
  #nextId = 1
  /** Reloads one at a time: each waits for the worker that runs its configuration. */
  #reloading: Promise<void> = Promise.resolve()
  /** Every web process ever started, for the log lines of a scenario. */
  readonly #webs: WebProcess[] = []

  private constructor(t: Teardown, work: string, zipFile: string, albPort: number, options: FleetOptions) {
    this.#t = t
    this.#work = work
    this.#zipFile = zipFile
    this.#options = options
    this.#albPort = albPort
    this.#albPrefix = path.join(work, 'alb')
    this.url = `http://127.0.0.1:${albPort}`
  }

  /** Builds the bundle (`npm run build` must have run) and starts the ALB stand-in with no instance. */
  static async create(t: Teardown, options: FleetOptions): Promise<Fleet> {
    const work = await temporaryDirectory(t, 'fleet')
    const zipFile = path.join(work, 'app.zip')
    await buildBundle(zipFile)
    const fleet = new Fleet(t, work, zipFile, await freePort(), options)
    await fleet.#startAlb()
    return fleet
  }

  /**
   * Unzips the bundle as a version of its own. `change` may alter it before any instance runs
   * it: add a compiled migration under dist/migrations, bump package.json's version.
   */
  async version(name: string, change?: (directory: string) => Promise<void>): Promise<Version> {
    const directory = path.join(this.#work, 'versions', name)
    await extractZip(this.#zipFile, directory)
    if (change) await change(directory)
    return { name, directory }
  }

  /** Launches a new instance of `version` as EB does, and registers it once healthy. */
  async launch(version: Version): Promise<Instance> {
    const id = `i-${this.#nextId++}`
    const appPort = await freePort()
    const nginxPort = await freePort()
    const web = await this.#deploy(id, version, appPort)
    const prefix = path.join(this.#work, 'instances', id, 'nginx')
    const confFile = await layOutNginx({
      bundleDirectory: version.directory,
      prefix,
      listenPort: nginxPort,
      appPort,
      bundlePort: Number((await bundleEnvironment(version.directory)).PORT),
      nginxConf: await readFile(path.join(version.directory, '.platform/nginx/nginx.conf'), 'utf8')
    })
    const nginx = await startNginx(this.#t, prefix, confFile, nginxPort)
    const instance: Instance = { id, version, nginxPort, appPort, web, nginx }
    this.instances.push(instance)
    await this.#waitHealthy(instance)
    await this.register(instance)
    return instance
  }

  async register(instance: Instance): Promise<void> {
    if (!this.#registered.includes(instance)) this.#registered.push(instance)
    await this.#reload()
  }

  async deregister(instance: Instance): Promise<void> {
    this.#registered = this.#registered.filter((registered) => registered !== instance)
    await this.#reload()
  }

  #reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reloadAlb())
    return this.#reloading
  }

  /** Where each web process's output stands now: pass it to warnings() later. */
  logMark(): Map<WebProcess, number> {
    return new Map(this.#webs.map((web) => [web, web.output().length]))
  }

  /** The service's warn and error log lines since a logMark(), counted by message and error. */
  warnings(mark: Map<WebProcess, number>): Map<string, number> {
    const counts = new Map<string, number>()
    for (const web of this.#webs) {
      for (const line of web.output().slice(mark.get(web) ?? 0).split('\n')) {
        if (!line.startsWith('{')) continue
        const entry = JSON.parse(line) as { level: number; msg: string; route?: string; err?: { message?: string } }
        if (entry.level < 40) continue
        const key = `${entry.msg}${entry.route ? ` (${entry.route})` : ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
    }
    return counts
  }

  /** Deregistered, drained for the deregistration delay, then SIGTERM; resolves once it exited. */
  async stopWeb(instance: Instance): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.deregister(instance)
    await sleep(this.#options.deregistrationDelayMs ?? 2000)
    instance.web.child.kill('SIGTERM')
    const [code, signal] = await instance.web.exited
    return { code, signal }
  }

  /** The instance goes away at once, web process and nginx alike; nothing deregisters it. */
  async kill(instance: Instance): Promise<void> {
    instance.web.child.kill('SIGKILL')
    process.kill(-instance.nginx.pid!, 'SIGKILL')
    await instance.web.exited
  }

  /** Stops and removes an instance (the end of the additional batch). */
  async terminate(instance: Instance): Promise<void> {
    await this.stopWeb(instance)
    instance.nginx.kill('SIGQUIT')
    await once(instance.nginx, 'exit')
    this.instances.splice(this.instances.indexOf(instance), 1)
  }

  /** The predeploy hook and the web process of `version` on a stopped instance; registered once healthy. */
  async startWeb(instance: Instance, version: Version): Promise<void> {
    instance.web = await this.#deploy(instance.id, version, instance.appPort)
    instance.version = version
    await this.#waitHealthy(instance)
    await this.register(instance)
  }

  /** Deploys `version` onto a running instance as EB does in place: deregister, drain, stop, predeploy, start, register. */
  async deployInPlace(instance: Instance, version: Version): Promise<void> {
    const { code } = await this.stopWeb(instance)
    if (code !== 0) throw new Error(`${instance.id} exited with ${code} on SIGTERM:\n${instance.web.output()}`)
    await this.startWeb(instance, version)
  }

  /** Forgets a dead instance (what the ALB's health checks end up doing). */
  async remove(instance: Instance): Promise<void> {
    await this.deregister(instance)
    this.instances.splice(this.instances.indexOf(instance), 1)
  }

  /**
   * RollingWithAdditionalBatch, one instance per batch: an additional instance of the new
   * version first (capacity never drops), then each old instance in place, then the additional
   * instance terminated.
   */
  async rollingDeploy(version: Version): Promise<void> {
    const old = [...this.instances]
    const additional = await this.launch(version)
    for (const instance of old) await this.deployInPlace(instance, version)
    await this.terminate(additional)
  }

  /** The predeploy hook, then the web process, of `version` on appPort. */
  async #deploy(id: string, version: Version, appPort: number): Promise<WebProcess> {
    const environment = await this.#environment(id, version, appPort)
    const hooks = await runHookPhase(version.directory, 'predeploy', environment)
    const failed = hooks.find((run) => run.code !== 0)
    if (failed) throw new Error(`${id}: ${failed.hook} exited ${failed.code}:\n${failed.output}`)
    const web = await startWebProcess(this.#t, version.directory, {
      ...environment,
      NODE_OPTIONS: `--import=${PROBE}`,
      EVENT_LOOP_PROBE_FILE: this.#probeFile(id)
    })
    this.#webs.push(web)
    return web
  }

  #probeFile(id: string): string {
    return path.join(this.#work, 'instances', id, 'event-loop.jsonl')
  }

  /** The longest event-loop delay any instance saw between two moments (epoch ms). */
  async eventLoopDelayMax(from: number, to: number): Promise<number> {
    let max = 0
    for (const instance of this.instances) {
      const lines = await readFile(this.#probeFile(instance.id), 'utf8').catch(() => '')
      for (const line of lines.split('\n').filter(Boolean)) {
        const sample = JSON.parse(line) as { at: number; maxMs: number }
        if (sample.at >= from && sample.at <= to) max = Math.max(max, sample.maxMs)
      }
    }
    return max
  }

  async #environment(id: string, version: Version, appPort: number): Promise<Record<string, string>> {
    const home = path.join(this.#work, 'instances', id)
    await mkdir(home, { recursive: true })
    return instanceEnvironment(version.directory, home, {
      ...this.#options.database,
      SPACEX_SYNC_ON_START: 'false',
      PORT: String(appPort),
      ...this.#options.environment
    })
  }

  async #waitHealthy(instance: Instance, timeoutMs = 180_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      if (instance.web.child.exitCode !== null) throw new Error(`${instance.id} exited:\n${instance.web.output()}`)
      const status = await fetch(`http://127.0.0.1:${instance.nginxPort}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.status,
        () => 0
      )
      if (status === 200) return
      if (performance.now() > deadline) throw new Error(`${instance.id} not healthy in ${timeoutMs} ms:\n${instance.web.output()}`)
      await sleep(100)
    }
  }

  #albConfig(): string {
    // An upstream needs a server: with none registered, one that refuses (nothing listens on port 1).
    const servers = this.#registered.length
      ? this.#registered.map((instance) => `    server 127.0.0.1:${instance.nginxPort} max_fails=1 fail_timeout=2s;`)
      : ['    server 127.0.0.1:1 down;']
    const proxy = `
      proxy_pass              http://fleet;
      proxy_http_version      1.1;
      proxy_set_header        Connection "";
      proxy_set_header        Host $host;
      # Clients of the load balancer speak HTTPS: the instances never redirect them.
      proxy_set_header        X-Forwarded-Proto https;
      proxy_set_header        X-Forwarded-For $proxy_add_x_forwarded_for;
      # Passive health checks: a connection refused or reset before any answer moves the request
      # to the next instance (nginx never resends a POST it already sent) and marks this one down.
      proxy_next_upstream     error timeout;
      proxy_connect_timeout   2s;
      add_header              X-Fleet-Upstream $upstream_addr always;`
    return `worker_processes 1;
pid ${path.join(this.#albPrefix, 'nginx.pid')};
error_log ${path.join(this.#albPrefix, 'logs/error.log')} warn;
# A reload lets old workers finish their requests (an ALB is never reloaded: none may be cut);
# event streams still open are cut after this.
worker_shutdown_timeout 60s;
events { worker_connections 4096; }
http {
  access_log off;
  upstream fleet {
${servers.join('\n')}
  }
  server {
    listen 127.0.0.1:${this.#albPort};
    client_max_body_size 64k;
    location / {${proxy}
      proxy_read_timeout      60s;
    }
    location /v1/events {${proxy}
      proxy_buffering         off;
      proxy_read_timeout      1h;
    }
  }
}
`
  }

  async #startAlb(): Promise<void> {
    await mkdir(path.join(this.#albPrefix, 'logs'), { recursive: true })
    const confFile = path.join(this.#albPrefix, 'nginx.conf')
    await writeFile(confFile, this.#albConfig())
    const check = await testNginxConfig(this.#albPrefix, confFile)
    if (!check.ok) throw new Error(`nginx -t failed for the ALB stand-in:\n${check.output}`)
    this.#alb = await startNginx(this.#t, this.#albPrefix, confFile, this.#albPort)
  }

  /** Rewrites the ALB's upstream and reloads; resolves once a worker with the new configuration runs. */
  async #reloadAlb(): Promise<void> {
    const confFile = path.join(this.#albPrefix, 'nginx.conf')
    await writeFile(confFile, this.#albConfig())
    const before = await workerPids(this.#alb.pid!)
    this.#alb.kill('SIGHUP')
    const deadline = performance.now() + 10_000
    while (performance.now() < deadline) {
      const now = await workerPids(this.#alb.pid!)
      if (now.some((pid) => !before.includes(pid))) return
      await sleep(20)
    }
    throw new Error(`nginx did not reload:\n${await readFile(path.join(this.#albPrefix, 'logs/error.log'), 'utf8')}`)
  }
}

/** The worker processes of an nginx master (Linux /proc). */
async function workerPids(masterPid: number): Promise<number[]> {
  const children = await readFile(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').catch(() => '')
  return children.trim().split(/\s+/).filter(Boolean).map(Number)
}
