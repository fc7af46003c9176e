import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifySchemaValidationError } from 'fastify'
import { Type } from 'typebox'
import { describeValidationError } from '../errors/error-handler.js'
import { authErrorResponses, commonErrorResponses, ErrorResponseSchema } from '../errors/error-schema.js'
import { badRequest, conflict, HttpError, notFound } from '../errors/http-errors.js'
import type { WriteRecord } from '../writes/unit-of-work.js'
import { IDEMPOTENCY_KEY_HEADER } from '../writes/writes-plugin.js'
import { parseLaunchDate, startOfTodayUtc } from './launch-date.js'
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
  const { field, message } = describeValidationError(first, 'Invalid launch')
  if (dataVar === 'body' && first && ['required', 'minLength', 'pattern'].includes(first.keyword)) {
    return badRequest('MISSING_LAUNCH_PROPERTY', MISSING_PROPERTY, field)
  }
  return badRequest('INVALID_REQUEST', message, field)
}

const launchNotFound = () => notFound('LAUNCH_NOT_FOUND', 'Launch not found')

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
      schema: {
        summary: 'Launches sorted by flight number, paginated and filtered',
        querystring: ListLaunchesQuerySchema,
        response: {
          200: { ...Type.Array(LaunchSchema), headers: Type.Object({ 'x-total-count': Type.Integer() }) },
          ...commonErrorResponses
        }
      }
    },
    async (request, reply) => {
      const { launches, total } = await listLaunches(app.db, request.query)
      reply.header('x-total-count', total)
      return launches
    }
  )

  app.get(
    '/launches/stats',
    { schema: { summary: 'Launch counts per year and outcome', response: { 200: LaunchStatsSchema, ...commonErrorResponses } } },
    async () => launchStats(app.db)
  )

  app.get(
    '/launches/:id',
    {
      schema: {
        summary: 'One launch by flight number',
        params: FlightNumberParamsSchema,
        response: { 200: LaunchSchema, 404: ErrorResponseSchema, ...commonErrorResponses }
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
        response: { 201: LaunchSchema, 422: ErrorResponseSchema, ...authErrorResponses, ...commonErrorResponses }
      },
      schemaErrorFormatter: scheduleValidationError
    },
    async (request, reply) => {
      const { mission, rocket, target } = request.body
      const launchDate = parseLaunchDate(request.body.launchDate)
      if (!launchDate) throw badRequest('INVALID_LAUNCH_DATE', 'Invalid launch date', 'launchDate')
      if (launchDate < startOfTodayUtc()) {
        throw badRequest('LAUNCH_DATE_IN_PAST', 'Launch date must be today or later', 'launchDate')
      }
      const { result: launch, replayed } = await app.write(
        request,
        async (trx) => {
          const launch = await scheduleLaunch(trx, { mission: mission.trim(), rocket: rocket.trim(), target, launchDate, scheduledBy: request.operator?.id ?? null })
          if (!launch) throw badRequest('PLANET_NOT_FOUND', 'No matching planet found', 'target')
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
          404: ErrorResponseSchema,
          409: ErrorResponseSchema,
          422: ErrorResponseSchema,
          ...authErrorResponses,
          ...commonErrorResponses
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
