// The dashboard's size budget, measured on a fresh build: JavaScript ≤ 40 KB gzip, CSS ≤ 15 KB
// gzip, and everything the first page load fetches (except fonts) ≤ 150 KB gzip.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { buildClient } from '../client/build.js'

const KB = 1024
const BUDGET = { js: 40 * KB, css: 15 * KB, firstLoad: 150 * KB }

const outDir = await mkdtemp(path.join(tmpdir(), 'client-dist-'))
t.teardown(() => rm(outDir, { recursive: true, force: true }))
await buildClient(outDir)

const gzipSize = async (file: string) => gzipSync(await readFile(path.join(outDir, file)), { level: 9 }).length
const assets = (await readdir(path.join(outDir, 'assets'))).map((name) => `assets/${name}`)
const sum = async (files: string[]) => (await Promise.all(files.map(gzipSize))).reduce((total, size) => total + size, 0)
const kb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`

t.test('every asset name carries a content hash and has .br and .gz siblings when compressible', async (t) => {
  const originals = assets.filter((file) => !/\.(br|gz)$/.test(file))
  t.ok(originals.length >= 4, 'scripts, styles, fonts and the icon are built')
  for (const file of originals) {
    t.match(path.basename(file), /-[A-Za-z0-9]{8,}\.(js|css|woff2|svg)$/, `${file} is content-hashed`)
    if (!file.endsWith('.woff2')) t.ok(assets.includes(`${file}.br`) && assets.includes(`${file}.gz`), `${file} is precompressed`)
  }
})

t.test('JavaScript and CSS stay within their gzip budgets', async (t) => {
  const js = await sum(assets.filter((file) => file.endsWith('.js')))
  const css = await sum(assets.filter((file) => file.endsWith('.css')))
  t.comment(`JavaScript ${kb(js)} gzip (budget ${kb(BUDGET.js)}), CSS ${kb(css)} gzip (budget ${kb(BUDGET.css)})`)
  t.ok(js > 0 && js <= BUDGET.js, `JavaScript is ${kb(js)} gzip`)
  t.ok(css > 0 && css <= BUDGET.css, `CSS is ${kb(css)} gzip`)
})

t.test('the first page load, fonts excluded, stays within 150 KB gzip', async (t) => {
  const html = await readFile(path.join(outDir, 'index.html'), 'utf8')
  const referenced = [...html.matchAll(/(?:href|src)="\/(assets\/[^"]+)"/g)].map((match) => match[1]!)
  t.ok(referenced.some((file) => file.endsWith('.js')) && referenced.some((file) => file.endsWith('.css')), 'index.html loads the script and the styles')
  t.same(referenced.filter((file) => !assets.includes(file)), [], 'every referenced asset was built')
  const firstLoad = (await gzipSize('index.html')) + (await sum(referenced.filter((file) => !file.endsWith('.woff2'))))
  t.comment(`first load without fonts: ${kb(firstLoad)} gzip (budget ${kb(BUDGET.firstLoad)})`)
  t.ok(firstLoad <= BUDGET.firstLoad, `first load is ${kb(firstLoad)} gzip`)
})
