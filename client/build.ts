// Builds the dashboard into client-dist/: esbuild bundles client/src (TypeScript and CSS, fonts
// copied from npm), every asset name carries a content hash, index.html points at them, and each
// compressible file gets .br and .gz siblings for @fastify/static's preCompressed mode.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib'
import * as esbuild from 'esbuild'

const brotli = promisify(brotliCompress)
const gzipAsync = promisify(gzip)

const CLIENT_DIR = import.meta.dirname
export const DEFAULT_OUT_DIR = path.resolve(CLIENT_DIR, '../client-dist')

/** Already-compressed formats gain nothing from a second pass. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map'])

export interface BuiltFile {
  file: string
  bytes: number
  gzipBytes: number
  brotliBytes: number
}

function contentHash(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 10)
}

/** The output esbuild wrote for an entry point, as a URL path under the site root. */
function outputFor(metafile: esbuild.Metafile, outDir: string, entryPoint: string): string {
  const entry = path.relative(process.cwd(), path.join(CLIENT_DIR, entryPoint))
  const output = Object.entries(metafile.outputs).find(([, meta]) => meta.entryPoint === entry)
  if (!output) throw new Error(`esbuild produced no output for ${entryPoint}`)
  return '/' + path.relative(outDir, path.resolve(output[0])).split(path.sep).join('/')
}

async function compressSiblings(outDir: string): Promise<BuiltFile[]> {
  const built: BuiltFile[] = []
  for (const entry of await readdir(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const content = await readFile(file)
    const relative = path.relative(outDir, file).split(path.sep).join('/')
    if (!COMPRESSIBLE.has(path.extname(file))) {
      built.push({ file: relative, bytes: content.length, gzipBytes: content.length, brotliBytes: content.length })
      continue
    }
    const [br, gz] = await Promise.all([
      brotli(content, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: content.length } }),
      gzipAsync(content, { level: 9 })
    ])
    await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gz)])
    built.push({ file: relative, bytes: content.length, gzipBytes: gz.length, brotliBytes: br.length })
  }
  return built.sort((a, b) => a.file.localeCompare(b.file))
}

/** Builds the dashboard into outDir (emptied first) and returns every file with its sizes. */
export async function buildClient(outDir: string = DEFAULT_OUT_DIR): Promise<BuiltFile[]> {
  await rm(outDir, { recursive: true, force: true })
  const assetsDir = path.join(outDir, 'assets')
  await mkdir(assetsDir, { recursive: true })

  const result = await esbuild.build({
    absWorkingDir: process.cwd(),
    entryPoints: [path.join(CLIENT_DIR, 'src/main.ts'), path.join(CLIENT_DIR, 'src/styles.css')],
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    loader: { '.woff2': 'file' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning'
  })

  const favicon = await readFile(path.join(CLIENT_DIR, 'favicon.svg'))
  const faviconName = `favicon-${contentHash(favicon)}.svg`
  await writeFile(path.join(assetsDir, faviconName), favicon)

  // The Latin face is what every page draws first; preloading it avoids a late swap.
  const font = Object.keys(result.metafile.outputs).find((file) => /jetbrains-mono-latin-wght-normal-[^/]+\.woff2$/.test(file))
  if (!font) throw new Error('the Latin JetBrains Mono face is missing from the bundle')

  const urls: Record<string, string> = {
    js: outputFor(result.metafile, outDir, 'src/main.ts'),
    css: outputFor(result.metafile, outDir, 'src/styles.css'),
    favicon: `/assets/${faviconName}`,
    font: `/assets/${path.basename(font)}`
  }
  const template = await readFile(path.join(CLIENT_DIR, 'index.html'), 'utf8')
  const html = template.replace(/\{\{(\w+)\}\}/g, (placeholder, name: string) => {
    const url = urls[name]
    if (!url) throw new Error(`index.html: unknown placeholder ${placeholder}`)
    return url
  })
  await writeFile(path.join(outDir, 'index.html'), html)

  return compressSiblings(outDir)
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const started = performance.now()
  const files = await buildClient()
  const kb = (bytes: number) => (bytes / 1024).toFixed(1).padStart(7)
  process.stdout.write(`client-dist/ built in ${Math.round(performance.now() - started)} ms\n`)
  process.stdout.write(`${'file'.padEnd(64)}    bytes     gzip   brotli (KB)\n`)
  for (const file of files) {
    process.stdout.write(`${file.file.padEnd(64)}${kb(file.bytes)}  ${kb(file.gzipBytes)}  ${kb(file.brotliBytes)}\n`)
  }
}
