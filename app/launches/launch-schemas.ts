import { Type, type Static } from 'typebox'
import { NON_BLANK_TEXT_PATTERN, nullable, stringEnum, TEXT_PATTERN } from '../validation.js'
import { MAX_YEARS_AHEAD } from './launch-date.js'

export const LAUNCH_OUTCOMES = ['upcoming', 'success', 'failure', 'aborted', 'unknown'] as const
export type LaunchOutcome = (typeof LAUNCH_OUTCOMES)[number]
const OutcomeSchema = stringEnum(LAUNCH_OUTCOMES)
const SourceSchema = stringEnum(['mission_control', 'spacex'])

/** Field names follow the original mission control API; outcome, source and abortedAt are additions. */
export const LaunchSchema = Type.Object(
  {
    flightNumber: Type.Integer(),
    mission: Type.String(),
    rocket: Type.String(),
    launchDate: Type.String({ format: 'date-time' }),
    target: nullable(Type.String({ description: 'Kepler name of the destination; null for SpaceX launches' })),
    customers: Type.Array(Type.String()),
    upcoming: Type.Boolean(),
    success: nullable(Type.Boolean({ description: 'null while the outcome is unknown' })),
    outcome: OutcomeSchema,
    source: SourceSchema,
    abortedAt: nullable(Type.String({ format: 'date-time' })),
    scheduledBy: nullable(
      Type.String({
        description: 'Display name of the operator who scheduled it; null for SpaceX launches and anonymous (AUTH_REQUIRED=false) writes'
      })
    ),
    abortedBy: nullable(Type.String({ description: 'Display name of the operator who aborted it' }))
  },
  { additionalProperties: false }
)
export type Launch = Static<typeof LaunchSchema>

/** The most launches one page returns; also what a request without `limit` gets. */
export const MAX_PAGE_SIZE = 1000

export const ListLaunchesQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: MAX_PAGE_SIZE }),
    upcoming: Type.Optional(Type.Boolean()),
    source: Type.Optional(SourceSchema),
    outcome: Type.Optional(OutcomeSchema),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, pattern: TEXT_PATTERN, description: 'Text search over mission, rocket, target and customers' })
    ),
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2_147_483_647,
        description:
          'Keyset pagination: the launches after this flight number in the chosen order (the `Link: rel="next"` header of a page carries it); with `page` 1 only'
      })
    ),
    order: stringEnum(['asc', 'desc'], { default: 'asc', description: 'By flight number' })
  },
  { additionalProperties: false }
)
export type ListLaunchesQuery = Static<typeof ListLaunchesQuerySchema>

/** Visible text without control characters: see NON_BLANK_TEXT_PATTERN. */
const requiredText = (example: string) => Type.String({ minLength: 1, maxLength: 100, pattern: NON_BLANK_TEXT_PATTERN, examples: [example] })
export const ScheduleLaunchBodySchema = Type.Object(
  {
    mission: requiredText('Kepler Exploration X'),
    rocket: requiredText('Explorer IS1'),
    target: requiredText('Kepler-442 b'),
    launchDate: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: NON_BLANK_TEXT_PATTERN,
      examples: [`${new Date().getUTCFullYear() + 1}-07-20`],
      description: `ISO 8601, or a date such as "January 4, 2030"; from today (UTC) to 31 December of the year ${MAX_YEARS_AHEAD} years ahead`
    })
  },
  { additionalProperties: false }
)
export type ScheduleLaunchBody = Static<typeof ScheduleLaunchBodySchema>

/** Writes accept an Idempotency-Key (app/writes/): a retry with the same key changes nothing twice. */
export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'A unique value per intended change (e.g. a UUID), printable ASCII without spaces'
    })
  )
})

export const FlightNumberParamsSchema = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Flight number' }) },
  { additionalProperties: false }
)

export const LaunchStatsSchema = Type.Object(
  {
    years: Type.Array(
      Type.Object(
        {
          year: Type.Integer(),
          upcoming: Type.Integer(),
          success: Type.Integer(),
          failure: Type.Integer(),
          aborted: Type.Integer(),
          unknown: Type.Integer()
        },
        { additionalProperties: false }
      )
    )
  },
  { additionalProperties: false }
)
export type LaunchStats = Static<typeof LaunchStatsSchema>
