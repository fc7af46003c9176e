// Part of `npm run build`, after tsc: dist/app/server.js (the entry of `npm start`, the Procfile
// and the bench) becomes one ES module with the service and its pure-JS dependencies, so a start
// loads one file instead of resolving and parsing about a thousand (about a quarter of the time to
// healthy on PostgreSQL). The CLIs (migrate-cli.js and the others) stay as tsc wrote them.
// That module is dist/app/service.js; dist/app/server.js turns on Node's compile cache, then loads
// it (see ENTRY below).
// Dependencies that find files next to themselves at run time stay in node_modules: native
// addons, PGlite's WebAssembly, pino's transport worker; the AWS SDK too, loaded only with
// DATABASE_SECRET_ID. swagger-ui is bundled but still serves its assets from node_modules.
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'

const entry = path.resolve(import.meta.dirname, '../dist/app/server.js')
const service = path.resolve(import.meta.dirname, '../dist/app/service.js')

/**
 * What dist/app/server.js becomes. Node's compile cache (V8's code cache, kept on disk under
 * os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE) spares a start after the first on a
 * machine parsing and compiling the 3.5 MB bundle and the modules it loads (about 80 ms of CPU).
 * It must be on before the bundle is loaded, hence this file of its own. A cache made by another
 * build or Node version is ignored (the cache checks both); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
const ENTRY = `// Written by scripts/server-bundle.ts: the compile cache on, then the service (service.js).
import { enableCompileCache } from 'node:module'
enableCompileCache()
await import('./service.js')
`

await build({
  entryPoints: [entry],
  outfile: service,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // Chains tsc's source maps: stack traces (--enable-source-maps) still name app/*.ts.
  sourcemap: true,
  external: ['@node-rs/argon2', '@electric-sql/pglite', 'pg-native', 'pino', 'pino-pretty', '@aws-sdk/*'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [
    {
      // An ES import of a Node built-in has Node build a module facade that reads every export,
      // lazy getters included: node:http's load undici (its fetch and WebSocket), about 80 ms of CPU
      // at every start for one STATUS_CODES. Through require(), as the bundled CommonJS
      // dependencies already load them, only what is used is loaded.
      name: 'builtins-through-require',
      setup(build) {
        build.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin' } : undefined))
        build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
      }
    },
    {
      // @fastify/swagger-ui reads its logo and serves its static files from its own directory
      // (__dirname). Left out of the bundle it loaded its own copies of yaml, @fastify/static and
      // their dependencies, about 150 CommonJS files (0.1 s of CPU at every start); bundled, its
      // __dirname is the installed package's, found at run time.
      name: 'swagger-ui-assets-in-node-modules',
      setup(build) {
        build.onLoad({ filter: /[\\/]node_modules[\\/]@fastify[\\/]swagger-ui[\\/](index|lib[\\/]routes)\.js$/ }, async (args) => {
          const installed = "require('node:path').dirname(require.resolve('@fastify/swagger-ui'))"
          const dirname = path.basename(path.dirname(args.path)) === 'lib' ? `require('node:path').join(${installed}, 'lib')` : installed
          return { contents: (await readFile(args.path, 'utf8')).replaceAll('__dirname', `(${dirname})`), loader: 'js' }
        })
      }
    },
    {
      // esbuild would inline a dynamically imported module, and hoist its external imports to the
      // bundle's top: the AWS SDK would load on every start. The service's own dynamic imports
      // (the Secrets Manager credentials) stay the separate files tsc wrote next to the entry.
      name: 'dynamic-imports-stay-separate',
      setup(build) {
        build.onResolve({ filter: /^\./, namespace: 'file' }, (args) => {
          if (args.kind !== 'dynamic-import') return undefined
          const target = path.relative(path.dirname(entry), path.resolve(args.resolveDir, args.path))
          return { path: `./${target.split(path.sep).join('/')}`, external: true }
        })
      }
    }
  ],
  logLevel: 'warning'
})
await writeFile(entry, ENTRY)
// tsc's map of server.ts is chained into service.js.map; the entry has none.
await rm(`${entry}.map`, { force: true })
