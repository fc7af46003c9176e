import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { notModified } from '../cache/cache-plugin.js'
import { commonErrorResponses } from '../errors/error-schema.js'
import { PlanetSchema } from './planet-schemas.js'

/** GET /planets: the habitable planet catalogue, the destinations a launch may target. */
const planetsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/planets',
    {
      config: { readCache: true },
      schema: {
        summary: 'Habitable planets, sorted by Kepler name, with their launch counts',
        response: { 200: Type.Array(PlanetSchema), 304: notModified, ...commonErrorResponses }
      }
    },
    async () => {
      const launchCounts = app.db
        .selectFrom('launches')
        .select(['target_planet_id', sql<number>`count(*)::int`.as('launch_count')])
        .where('status', '!=', 'aborted')
        .where('target_planet_id', 'is not', null)
        .groupBy('target_planet_id')
        .as('counts')
      return app.db
        .selectFrom('planets')
        .leftJoin(launchCounts, 'counts.target_planet_id', 'planets.id')
        .select((eb) => [
          'planets.kepler_name as keplerName',
          'planets.koi_name as koiName',
          'planets.kepid',
          'planets.radius_earth as radiusEarth',
          'planets.insolation_earth as insolationEarth',
          'planets.orbital_period_days as orbitalPeriodDays',
          'planets.equilibrium_temp_k as equilibriumTempK',
          'planets.star_temp_k as starTempK',
          'planets.star_radius_solar as starRadiusSolar',
          eb.fn.coalesce('counts.launch_count', sql<number>`0`).as('launchCount')
        ])
        // Byte order, so PostgreSQL (locale collation) and PGlite (C) list the planets alike.
        .orderBy(sql`planets.kepler_name collate "C"`)
        .execute()
    }
  )
}
export default planetsRoutes
