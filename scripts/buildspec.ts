// buildspec.yml as CodeBuild runs it, for the local rehearsal (scripts/codebuild-rehearse.ts):
// parsing (anything this file does not implement is an error, so a new buildspec feature cannot
// go unrehearsed), the command plan with its stand-ins, and the run with CodeBuild's semantics.
//
// Semantics (buildspec version 0.2, docs/pipeline.md): phases install → pre_build → build →
// post_build; the commands of the whole build share one shell's state (working directory and
// exported variables carry over from one command to the next); a failing command ends its phase.
// A failed install or pre_build ends the build; after a failed build, post_build still runs, with
// CODEBUILD_BUILD_SUCCEEDING=0; a failed post_build fails the build.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'

export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const
export type Phase = (typeof PHASES)[number]

export interface ReportGroup {
  files: string[]
  baseDirectory: string
  fileFormat: 'JUNITXML'
}

export interface Buildspec {
  variables: Record<string, string>
  runtimeVersions: Record<string, string>
  phases: Record<Phase, string[]>
  reports: Record<string, ReportGroup>
  artifacts: { baseDirectory: string; files: string[] }
  cachePaths: string[]
}

/** The keys this rehearsal implements, per level; any other key is an error. */
const KNOWN = {
  top: ['version', 'env', 'phases', 'reports', 'artifacts', 'cache'],
  env: ['variables'],
  phase: ['commands', 'runtime-versions'],
  report: ['files', 'base-directory', 'file-format'],
  artifacts: ['files', 'base-directory'],
  cache: ['paths']
}

type Yaml = Record<string, unknown>

function object(value: unknown, where: string): Yaml {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`buildspec.yml: ${where} must be a mapping`)
  return value as Yaml
}

function onlyKnown(value: Yaml, known: string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new Error(`buildspec.yml: ${where}${key} is not rehearsed (scripts/buildspec.ts knows ${known.join(', ')})`)
  }
}

function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new Error(`buildspec.yml: ${where} must be a list of strings`)
  return value as string[]
}

export function parseBuildspec(text: string): Buildspec {
  const spec = object(parseYaml(text), 'the document')
  onlyKnown(spec, KNOWN.top, '')
  if (String(spec.version) !== '0.2') throw new Error(`buildspec.yml: version ${String(spec.version)} is not rehearsed (0.2 is)`)

  const env = object(spec.env ?? {}, 'env')
  onlyKnown(env, KNOWN.env, 'env.')
  const variables = Object.fromEntries(Object.entries(object(env.variables ?? {}, 'env.variables')).map(([name, value]) => [name, String(value)]))

  const rawPhases = object(spec.phases, 'phases')
  onlyKnown(rawPhases, [...PHASES], 'phases.')
  const phases = {} as Record<Phase, string[]>
  let runtimeVersions: Record<string, string> = {}
  for (const phase of PHASES) {
    const body = object(rawPhases[phase] ?? {}, `phases.${phase}`)
    onlyKnown(body, phase === 'install' ? KNOWN.phase : ['commands'], `phases.${phase}.`)
    phases[phase] = body.commands === undefined ? [] : strings(body.commands, `phases.${phase}.commands`)
    if (body['runtime-versions'] !== undefined) {
      runtimeVersions = Object.fromEntries(
        Object.entries(object(body['runtime-versions'], 'runtime-versions')).map(([name, value]) => [name, String(value)])
      )
    }
  }

  const reports: Record<string, ReportGroup> = {}
  for (const [name, value] of Object.entries(object(spec.reports ?? {}, 'reports'))) {
    const group = object(value, `reports.${name}`)
    onlyKnown(group, KNOWN.report, `reports.${name}.`)
    if (group['file-format'] !== 'JUNITXML') throw new Error(`buildspec.yml: reports.${name}.file-format ${String(group['file-format'])} is not rehearsed (JUNITXML is)`)
    reports[name] = { files: strings(group.files, `reports.${name}.files`), baseDirectory: String(group['base-directory'] ?? '.'), fileFormat: 'JUNITXML' }
  }

  const artifacts = object(spec.artifacts, 'artifacts')
  onlyKnown(artifacts, KNOWN.artifacts, 'artifacts.')
  const cache = object(spec.cache ?? {}, 'cache')
  onlyKnown(cache, KNOWN.cache, 'cache.')

  return {
    variables,
    runtimeVersions,
    phases,
    reports,
    artifacts: { baseDirectory: String(artifacts['base-directory'] ?? '.'), files: strings(artifacts.files, 'artifacts.files') },
    cachePaths: cache.paths === undefined ? [] : strings(cache.paths, 'cache.paths')
  }
}

/** A command that cannot run as written here, and what runs instead. */
export interface StandIn {
  name: string
  /** Why the original is out of reach, and what the stand-in keeps of it. */
  why: string
  matches(command: string): boolean
  replace(command: string): string
}

/** Where CodeBuild downloads the RDS CA bundle from (pre_build). */
export const RDS_CA_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem'

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`

/**
 * The rehearsal's stand-ins: the RDS CA download fetches, with the very same curl command line,
 * a generated CA bundle from a local HTTPS server that curl trusts through CURL_CA_BUNDLE.
 */
export function standIns(local: { caBundleUrl: string; serverCaFile: string }): StandIn[] {
  return [
    {
      name: 'RDS CA download',
      why: `${RDS_CA_URL} is out of reach: the same curl command fetches a generated CA bundle from a local HTTPS server`,
      matches: (command) => command.includes(RDS_CA_URL),
      replace: (command) => `CURL_CA_BUNDLE=${shellQuote(local.serverCaFile)} ${command.replace(RDS_CA_URL, local.caBundleUrl)}`
    }
  ]
}

export interface PlannedCommand {
  phase: Phase
  /** As written in buildspec.yml. */
  command: string
  /** What the rehearsal runs: the command itself, or its stand-in's replacement. */
  run: string
  standIn?: string
}

/** Every command of every phase, in CodeBuild's order; each stand-in must replace exactly one. */
export function planCommands(spec: Buildspec, replacements: StandIn[]): PlannedCommand[] {
  const plan: PlannedCommand[] = []
  const used = new Map<string, number>()
  for (const phase of PHASES) {
    for (const command of spec.phases[phase]) {
      const standIn = replacements.find((candidate) => candidate.matches(command))
      if (standIn) used.set(standIn.name, (used.get(standIn.name) ?? 0) + 1)
      plan.push(standIn ? { phase, command, run: standIn.replace(command), standIn: standIn.name } : { phase, command, run: command })
    }
  }
  for (const standIn of replacements) {
    const count = used.get(standIn.name) ?? 0
    if (count !== 1) throw new Error(`stand-in "${standIn.name}" replaces ${count} commands of buildspec.yml, not exactly one`)
  }
  return plan
}

export type PhaseStatus = 'SUCCEEDED' | 'FAILED' | 'NOT RUN'

export interface PhaseResult {
  phase: Phase
  status: PhaseStatus
  milliseconds: number
  commands: { command: string; status: number | null; milliseconds: number }[]
}

export interface BuildResult {
  succeeded: boolean
  phases: PhaseResult[]
}

export interface RunOptions {
  /** CODEBUILD_SRC_DIR: where the first command starts. */
  sourceDirectory: string
  /** The image's environment (PATH, HOME, …); env.variables and CODEBUILD_* are added to it. */
  environment: Record<string, string>
  log?: (line: string) => void
}

function runShell(script: string, environment: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: environment, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve(signal ? null : code))
  })
}

/** Runs the plan with CodeBuild's phase semantics (see the top of this file). */
export async function runBuild(spec: Buildspec, plan: PlannedCommand[], options: RunOptions): Promise<BuildResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  // The shell state that CodeBuild's one shell keeps between commands: exported variables, cwd.
  const state = await mkdtemp(path.join(tmpdir(), 'codebuild-shell-'))
  const environment: Record<string, string> = { ...options.environment, ...spec.variables, CODEBUILD_SRC_DIR: options.sourceDirectory }
  await writeFile(path.join(state, 'cwd'), options.sourceDirectory)
  const phases: PhaseResult[] = []
  let succeeding = true
  let stopped = false
  try {
    for (const phase of PHASES) {
      const result: PhaseResult = { phase, status: 'NOT RUN', milliseconds: 0, commands: [] }
      phases.push(result)
      if (stopped || (phase !== 'post_build' && !succeeding)) continue
      log(`[Container] Entering phase ${phase.toUpperCase()}`)
      const phaseStart = performance.now()
      result.status = 'SUCCEEDED'
      for (const step of plan.filter((planned) => planned.phase === phase)) {
        log(`[Container] Running command ${step.command}${step.standIn ? `\n[Container]   stand-in (${step.standIn}): ${step.run}` : ''}`)
        const script = [
          `. ${shellQuote(path.join(state, 'env'))} 2>/dev/null`,
          `cd "$(cat ${shellQuote(path.join(state, 'cwd'))})" || exit 1`,
          `export CODEBUILD_BUILD_SUCCEEDING=${succeeding ? 1 : 0}`,
          step.run,
          '__codebuild_status=$?',
          `export -p | grep -Ev '^declare -x (OLDPWD|PWD|SHLVL|_|__codebuild_status)=' > ${shellQuote(path.join(state, 'env'))}`,
          `pwd > ${shellQuote(path.join(state, 'cwd'))}`,
          'exit $__codebuild_status'
        ].join('\n')
        const start = performance.now()
        const status = await runShell(script, environment)
        const milliseconds = Math.round(performance.now() - start)
        result.commands.push({ command: step.command, status, milliseconds })
        if (status !== 0) {
          log(`[Container] Command did not exit successfully ${step.command} exit status ${status ?? 'signal'} (${seconds(milliseconds)})`)
          result.status = 'FAILED'
          break
        }
      }
      result.milliseconds = Math.round(performance.now() - phaseStart)
      log(`[Container] Phase complete: ${phase.toUpperCase()} State: ${result.status} (${seconds(result.milliseconds)})`)
      if (result.status === 'FAILED') {
        succeeding = false
        // install and pre_build failures end the build; a build failure still gets post_build.
        if (phase === 'install' || phase === 'pre_build' || phase === 'post_build') stopped = true
      }
    }
  } finally {
    await rm(state, { recursive: true, force: true })
  }
  return { succeeded: succeeding, phases }
}

/** CodeBuild's file patterns: `**` any depth, `*` and `?` within one name. */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index]!
    if (pattern.startsWith('**/', index)) {
      source += '(?:.*/)?'
      index += 2
    } else if (pattern.startsWith('**', index)) {
      source += '.*'
      index += 1
    } else if (character === '*') source += '[^/]*'
    else if (character === '?') source += '[^/]'
    else source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

export const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`
