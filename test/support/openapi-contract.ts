// The contract test: every response a test receives through `app.inject` is checked against the
// app's own /openapi.json. A response of a documented operation must have a documented status and
// media type and, for JSON with a schema, a body that validates (Ajv, JSON Schema 2020-12 as in
// OpenAPI 3.1); otherwise `inject` rejects, failing the test that received it. New routes are
// covered as soon as they exist, since the document is generated from the routes.
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse as InjectResponse } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

interface Received {
  method: string
  /** The route pattern, `/v1/launches/:id`; undefined when no route matched. */
  route: string | undefined
  statusCode: number
  contentType: string
  payload: unknown
}

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>
}

const DOCUMENT_ID = 'openapi.json'

/** Counts for this test process, printed when it exits (see the comment written below). */
const counts = { validated: 0, undocumented: 0 }
let reporting = false

function reportAtExit(): void {
  if (reporting) return
  reporting = true
  process.once('exit', () => {
    // A TAP comment: it lands in the file's output and in .tap/test-results/.
    process.stdout.write(
      `# OpenAPI contract: ${counts.validated} responses validated against /openapi.json` +
        ` (${counts.undocumented} from routes outside the document: pages, assets, unknown paths)\n`
    )
  })
}

/** `/v1/launches/:id` → `/v1/launches/{id}`, as @fastify/swagger writes paths. */
function documentPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

const pointer = (...segments: string[]) => segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

function problemWith(received: Received, document: { paths?: Record<string, Record<string, Operation>> }, ajv: Ajv2020): string | undefined {
  const path = received.route && documentPath(received.route)
  const method = received.method.toLowerCase()
  const operation = path ? document.paths?.[path]?.[method] : undefined
  const name = `${received.method} ${received.route ?? '(no route)'}`
  if (!operation || !path) {
    counts.undocumented++
    return undefined
  }
  counts.validated++
  const status = String(received.statusCode)
  const response = operation.responses?.[status]
  if (!response) return `${name} answered ${status}, a status the document does not list for it`
  const empty = received.payload === '' || received.payload === undefined || received.payload === null
  if (!response.content) return empty ? undefined : `${name} answered ${status} with a body the document does not describe`
  const mediaType = received.contentType.split(';')[0]!.trim()
  const media = response.content[mediaType]
  if (!media) return `${name} answered ${status} with "${mediaType}", the document lists ${Object.keys(response.content).join(', ')}`
  // Bodies in other formats (an event stream, say) are checked for their media type only.
  if (!media.schema || !/[/+]json$/.test(mediaType)) return undefined
  const ref = `${DOCUMENT_ID}#/${pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema')}`
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
  if (validate(JSON.parse(String(received.payload)))) return undefined
  const errors = validate.errors?.map((error) => `${error.instancePath || '(body)'} ${error.message}`).join('; ')
  return `${name} answered ${status} with a body that does not match the document: ${errors}`
}

/**
 * Checks every response `app.inject` returns against the app's /openapi.json. Call it after
 * buildApp and before `ready` (the hook must be in place before the first request).
 */
export function checkResponsesAgainstDocument(app: FastifyInstance): void {
  const received = new WeakMap<ServerResponse, Received>()
  app.addHook('onSend', async (request, reply, payload) => {
    received.set(reply.raw, {
      method: request.method,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      contentType: String(reply.getHeader('content-type') ?? ''),
      payload
    })
    return payload
  })

  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<InjectResponse>
  let checker: Promise<(received: Received) => string | undefined> | undefined
  const loadChecker = async () => {
    const response = await inject('/openapi.json')
    const document = response.json()
    const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }))
    ajv.addSchema(document, DOCUMENT_ID)
    return (one: Received) => problemWith(one, document, ajv)
  }

  reportAtExit()
  const checked = async (options: InjectOptions | string): Promise<InjectResponse> => {
    const response = await inject(options)
    const one = received.get(response.raw.res)
    if (!one) return response
    checker ??= loadChecker()
    const problem = (await checker)(one)
    if (problem) throw new Error(`OpenAPI contract: ${problem}`)
    return response
  }
  Object.assign(app, { inject: checked })
}
