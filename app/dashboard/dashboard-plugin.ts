import { existsSync } from 'node:fs'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import fp from 'fastify-plugin'
import { ErrorResponseSchema } from '../errors/error-schema.js'
import { HttpError } from '../errors/http-errors.js'
import { projectDirectory } from '../project-directory.js'
import { pageHeaders } from '../security/security-headers-plugin.js'

/** The client-side routes: a reload or a shared link on any of them must get the app back. */
export const DASHBOARD_PAGES = [
  '/',
  '/launch',
  '/upcoming',
  '/history',
  '/planets',
  '/sign-in',
  '/setup',
  '/invite',
  '/tokens',
  '/operators',
  '/audit'
] as const

/** Asset names carry a content hash (client/build.ts), so a cached copy can never go stale. */
const ONE_YEAR_IMMUTABLE = 'public, max-age=31536000, immutable'

export interface DashboardOptions {
  /** The built dashboard (`npm run build` writes it); defaults to client-dist/ in the project. */
  root?: string
}

/**
 * Serves the built dashboard: hashed assets under /assets/ (brotli or gzip siblings when the
 * browser accepts them, cached for a year), and index.html, never cached, for every page route.
 * Without a build the API keeps working and the pages answer 503 saying how to build.
 * Anything else falls through to the JSON 404 of the error handler.
 */
export default fp<DashboardOptions>(
  async (app, options) => {
    const root = options.root ?? path.join(projectDirectory(), 'client-dist')
    const built = existsSync(path.join(root, 'index.html'))
    const pageSchema = { hide: true, response: { 503: ErrorResponseSchema } }

    if (!built) {
      app.log.warn({ root }, 'dashboard not built: run `npm run build`; the API is served without it')
      for (const url of DASHBOARD_PAGES) {
        app.get(url, { schema: pageSchema }, async () => {
          throw new HttpError(503, 'DASHBOARD_NOT_BUILT', 'The dashboard is not built: run `npm run build` and restart')
        })
      }
      return
    }

    await app.register(fastifyStatic, {
      root: path.join(root, 'assets'),
      prefix: '/assets/',
      preCompressed: true,
      cacheControl: false,
      // index.html lives outside this root: the page routes below send it.
      index: false,
      setHeaders: (reply, filePath) => {
        // filePath may be the .br or .gz sibling. no-cache: the browser revalidates index.html
        // (ETag), so a deploy shows on the next load.
        const page = path.basename(filePath).startsWith('index.html')
        reply.header('cache-control', page ? 'no-cache' : ONE_YEAR_IMMUTABLE)
      }
    })

    // Security headers (the pages' strict CSP among them) come from security-headers-plugin.ts.
    for (const url of DASHBOARD_PAGES) {
      app.get(url, { schema: pageSchema, config: pageHeaders }, async (_request, reply) => reply.sendFile('index.html', root))
    }
  },
  { name: 'dashboard', dependencies: ['error-handler', 'security-headers'] }
)
