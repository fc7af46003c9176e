import { STATUS_CODES } from 'node:http'
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger'

// The parts of the OpenAPI 3.1 document these functions read and write.
type SecurityRequirement = Record<string, string[]>
interface Response {
  description: string
  headers?: Record<string, unknown>
}
interface Operation {
  tags?: string[]
  security?: SecurityRequirement[]
  responses?: Record<string, Response>
}
interface Document {
  paths?: Record<string, Record<string, unknown> | undefined>
  tags?: { name: string; description: string }[]
  components?: Record<string, unknown>
}

/** What the first path segment after the version groups; a new group shows with a generic line. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  health: 'Service and database health, for the load balancer',
  planets: 'The habitable planet catalogue: the destinations a launch may target',
  launches: 'Scheduled, aborted and flown launches, including the SpaceX history'
}

/**
 * How a protected route is called (issue 9): the dashboard's session cookie (writes also send
 * `X-CSRF-Token`), or an API token for scripts. Only added to the document once a route uses them.
 */
const SECURITY_SCHEMES = {
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'session',
    description: 'The session cookie set by signing in; writes also send its CSRF token in `X-CSRF-Token`.'
  },
  bearerToken: { type: 'http', scheme: 'bearer', description: 'An API token, `mc_…`, as `Authorization: Bearer mc_…`.' }
}

/**
 * A route's access requirement, read from `config.access` (issue 9's per-route option): absent or
 * "public" needs no credentials; any other value names the roles allowed, which OpenAPI 3.1 lists
 * as the requirement's scopes.
 */
function securityRequirements(access: unknown): SecurityRequirement[] {
  const roles = (Array.isArray(access) ? access : [access]).filter((role): role is string => typeof role === 'string' && role !== '')
  if (access === undefined || access === 'public' || roles.length === 0) return []
  return Object.keys(SECURITY_SCHEMES).map((scheme) => ({ [scheme]: roles }))
}

/** `GET /v1/launches/:id` → `getV1LaunchesById`: stable, unique per method and path. */
function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith(':') ? `by-${segment.slice(1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
  return method.toLowerCase() + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')
}

function tagOf(url: string): string {
  const segments = url.split('/').filter((segment) => segment && !/^v\d+$/.test(segment))
  return segments[0] ?? 'service'
}

/**
 * Per route: an operationId, a tag and the security requirement, unless the route states its own.
 * The schemes join the document with the first route that needs them (@fastify/swagger looks them
 * up while it reads that route).
 */
export const describeOperation: SwaggerTransform = ({ schema, url, route, ...documentObject }) => {
  if (!schema) return { schema, url }
  const method = Array.isArray(route.method) ? route.method[0]! : route.method
  const security = securityRequirements((route.config as { access?: unknown } | undefined)?.access)
  if (security.length > 0) {
    const document = (documentObject as unknown as { openapiObject: Document }).openapiObject
    document.components = { ...document.components, securitySchemes: SECURITY_SCHEMES }
  }
  return { url, schema: { operationId: operationId(method, url), tags: [tagOf(url)], security, ...schema } }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

function operationsOf(document: Document): Operation[] {
  return Object.values(document.paths ?? {}).flatMap((item) => METHODS.flatMap((method) => (item?.[method] ? [item[method] as Operation] : [])))
}

/**
 * The whole document: tags with descriptions for the groups in use, `X-Request-Id` on every response (the service sets it on all of them), and the
 * status text as the description of responses whose schema gives none.
 */
export const describeDocument: SwaggerTransformObject = (documentObject) => {
  const document = (documentObject as unknown as { openapiObject: Document }).openapiObject
  const operations = operationsOf(document)
  const tags = [...new Set(operations.flatMap((op) => op.tags ?? []))].sort()
  document.tags = tags.map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `Routes under /${name}` }))
  for (const op of operations) {
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      if (response.description === 'Default Response') response.description = STATUS_CODES[status] ?? response.description
      response.headers = {
        'X-Request-Id': { description: "The request's id in the service's logs (the load balancer's trace id when present)", schema: { type: 'string' } },
        ...response.headers
      }
    }
  }
  return document as ReturnType<SwaggerTransformObject>
}
