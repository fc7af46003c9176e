import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifySchemaValidationError } from 'fastify'
import { Type } from 'typebox'
import { describeValidationError, hasForbiddenCharacters } from '../errors/error-handler.js'
import { notModified } from '../cache/cache-plugin.js'
import { authErrorResponses, commonErrorResponses, errorResponse } from '../errors/error-schema.js'
import { badRequest, conflict, HttpError, invalidJson, notFound } from '../errors/http-errors.js'
import { idempotencyKeyReused } from '../writes/idempotency.js'
import type { WriteRecord } from '../writes/unit-of-work.js'
import { IDEMPOTENCY_KEY_HEADER } from '../writes/writes-plugin.js'
import { isBeyondLastLaunchDay, lastLaunchDay, parseLaunchDate, startOfTodayUtc } from './launch-date.js'
import {
  FlightNumberParamsSchema,
  IdempotencyHeadersSchema,
  type Launch,
  LaunchSchema,
  LaunchStatsSchema,
  ListLaunchesQuerySchema,
  ScheduleLaunchBodySchema
} from './launch-schemas.js'
import { abortLaunch, findLaunch, launchStats, listLaunches, scheduleLaunch } from './launches-queries.js'

const MISSING_PROPERTY = 'Missing required launch property'

/**
 * The original API answered a missing (or empty) property with one fixed message; clients
 * match on it, so the schema's required/minLength/pattern failures keep that wording.
 */
function scheduleValidationError(errors: FastifySchemaValidationError[], dataVar: string): HttpError {
  const [first] = errors
  const { field, message, code } = describeValidationError(first, 'Invalid launch')
  if (dataVar === 'body' && first && ['required', 'minLength', 'pattern'].includes(first.keyword) && !hasForbiddenCharacters(first)) {
    return badRequest('MISSING_LAUNCH_PROPERTY', MISSING_PROPERTY, field)
  }
  return badRequest(code, message, field)
}

const launchNotFound = () => notFound('LAUNCH_NOT_FOUND', 'Launch not found')
const invalidLaunchDate = () => badRequest('INVALID_LAUNCH_DATE', 'Invalid launch date', 'launchDate')
const launchDateInPast = () => badRequest('LAUNCH_DATE_IN_PAST', 'Launch date must be today or later', 'launchDate')
const launchDateTooFar = () => badRequest('LAUNCH_DATE_TOO_FAR', `Launch date must be ${lastLaunchDay()} or earlier`, 'launchDate')
const planetNotFound = () => badRequest('PLANET_NOT_FOUND', 'No matching planet found', 'target')
/** What an out-of-range flight number gets (a validation error), as an example for the document. */
const invalidFlightNumber = badRequest('INVALID_REQUEST', 'id must be >= 1', 'id')

const pageWithAfter = () => badRequest('INVALID_REQUEST', 'Use page or after, not both', 'after')

/** The same list continued after a flight number: the request's own query, `page` and `after` replaced. */
function nextPageUrl(url: string, after: number): string {
  const [path, search] = url.split('?', 2) as [string, string | undefined]
  const params = new URLSearchParams(search)
  params.delete('page')
  params.set('after', String(after))
  return `${path}?${params}`
}

const abortErrors = {
  not_found: launchNotFound,
  already_aborted: () => conflict('LAUNCH_ALREADY_ABORTED', 'Launch is already aborted'),
  already_flown: () => conflict('LAUNCH_ALREADY_FLOWN', 'Launch has already flown and cannot be aborted'),
  not_abortable: () => conflict('LAUNCH_NOT_ABORTABLE', 'SpaceX launches are history synced from SpaceX and cannot be aborted here')
}

/** A launch write leaves its audit row and its feed event: what happened, to which launch. */
function launchChanged(change: 'scheduled' | 'aborted', launch: Launch): WriteRecord<Launch> {
  const { flightNumber, mission, target, launchDate } = launch
  return {
    result: launch,
    audit: [{ action: `launch.${change}`, subjectType: 'launch', subjectId: String(flightNumber), details: { mission, target, launchDate } }],
    events: [{ type: 'launch', payload: { change, launch } }]
  }
}

/** Writes need an operator; AUTH_REQUIRED=false keeps the original open v1 API (private networks). */
const launchWriteConfig = { access: 'operator', openWhenAuthOptional: true } as const

const launchesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/launches',
    {
      config: { readCache: true },
      schema: {
        summary: 'Launches sorted by flight number, paginated and filtered',
        description:
          'Pages by `page` (offset) or by `after` (keyset: the `Link: rel="next"` header continues from the last launch of a page; deep pages cost what the first one does).',
        querystring: ListLaunchesQuerySchema,
        response: {
          200: {
            ...Type.Array(LaunchSchema),
            headers: {
              'x-total-count': Type.Integer({ description: 'Launches matching the filters, on all pages' }),
              link: Type.Optional(Type.String({ description: 'The next page, `<…&after=N>; rel="next"`, when more launches follow' })),
              etag: Type.String({ description: 'Strong validator of the body: send it back in If-None-Match' })
            }
          },
          304: notModified,
          ...commonErrorResponses,
          400: errorResponse(badRequest('INVALID_REQUEST', 'limit must be <= 1000', 'limit'), pageWithAfter())
        }
      }
    },
    async (request, reply) => {
      if (request.query.after !== undefined && request.query.page !== 1) throw pageWithAfter()
      const { launches, total, next } = await listLaunches(app.db, request.query, app.readCache)
      reply.header('x-total-count', total)
      if (next !== undefined) reply.header('link', `<${nextPageUrl(request.url, next)}>; rel="next"`)
      return launches
    }
  )

  app.get(
    '/launches/stats',
    {
      config: { readCache: true },
      schema: { summary: 'Launch counts per year and outcome', response: { 200: LaunchStatsSchema, 304: notModified, ...commonErrorResponses } }
    },
    async () => launchStats(app.db)
  )

  app.get(
    '/launches/:id',
    {
      config: { readCache: true },
      schema: {
        summary: 'One launch by flight number',
        params: FlightNumberParamsSchema,
        response: { 200: LaunchSchema, 304: notModified, 404: errorResponse(launchNotFound()), ...commonErrorResponses, 400: errorResponse(invalidFlightNumber) }
      }
    },
    async (request) => {
      const launch = await findLaunch(app.db, request.params.id)
      if (!launch) throw launchNotFound()
      return launch
    }
  )

  app.post(
    '/launches',
    {
      config: launchWriteConfig,
      schema: {
        summary: 'Schedule a launch to a habitable planet',
        description: `Send an ${IDEMPOTENCY_KEY_HEADER} header to make retries safe: the same key with the same body answers with the launch it created (nothing new is created); the same key with another body is refused with 422.`,
        headers: IdempotencyHeadersSchema,
        body: ScheduleLaunchBodySchema,
        response: {
          201: { ...LaunchSchema, headers: { location: Type.String({ description: 'The new launch, /v1/launches/{flightNumber}' }) } },
          422: errorResponse(idempotencyKeyReused()),
          ...authErrorResponses,
          ...commonErrorResponses,
          400: errorResponse(
            badRequest('MISSING_LAUNCH_PROPERTY', MISSING_PROPERTY, 'mission'),
            invalidLaunchDate(),
            launchDateInPast(),
            launchDateTooFar(),
            planetNotFound(),
            badRequest('INVALID_CHARACTERS', 'mission must not contain control characters or unpaired surrogates', 'mission'),
            badRequest('INVALID_REQUEST', 'mission must NOT have more than 100 characters', 'mission'),
            invalidJson()
          )
        }
      },
      schemaErrorFormatter: scheduleValidationError
    },
    async (request, reply) => {
      const { mission, rocket, target } = request.body
      const launchDate = parseLaunchDate(request.body.launchDate)
      if (!launchDate) throw invalidLaunchDate()
      if (launchDate < startOfTodayUtc()) throw launchDateInPast()
      if (isBeyondLastLaunchDay(launchDate)) throw launchDateTooFar()
      const { result: launch, replayed } = await app.write(
        request,
        async (trx) => {
          const launch = await scheduleLaunch(trx, { mission: mission.trim(), rocket: rocket.trim(), target, launchDate, scheduledBy: request.operator?.id ?? null })
          if (!launch) throw planetNotFound()
          return launchChanged('scheduled', launch)
        },
        { idempotent: true }
      )
      request.log.info({ flightNumber: launch.flightNumber, target, replayed }, replayed ? 'launch schedule replayed' : 'launch scheduled')
      return reply.code(201).header('location', `/v1/launches/${launch.flightNumber}`).send(launch)
    }
  )

  app.delete(
    '/launches/:id',
    {
      config: launchWriteConfig,
      schema: {
        summary: 'Abort an upcoming launch (the launch is kept, marked aborted)',
        headers: IdempotencyHeadersSchema,
        params: FlightNumberParamsSchema,
        response: {
          200: Type.Object({ ok: Type.Literal(true) }, { additionalProperties: false }),
          404: errorResponse(launchNotFound()),
          409: errorResponse(abortErrors.already_aborted(), abortErrors.already_flown(), abortErrors.not_abortable()),
          422: errorResponse(idempotencyKeyReused()),
          ...authErrorResponses,
          ...commonErrorResponses,
          400: errorResponse(invalidFlightNumber)
        }
      }
    },
    async (request) => {
      await app.write(
        request,
        async (trx) => {
          const aborted = await abortLaunch(trx, request.params.id, request.operator?.id ?? null)
          if (aborted.status !== 'aborted') throw abortErrors[aborted.status]()
          return launchChanged('aborted', aborted.launch)
        },
        { idempotent: true }
      )
      request.log.info({ flightNumber: request.params.id }, 'launch aborted')
      return { ok: true as const }
    }
  )
}

export default launchesRoutes
