import { Type, type Static } from 'typebox'
import { nullable } from '../validation.js'

const NullableNumber = nullable(Type.Number())

export const PlanetSchema = Type.Object(
  {
    keplerName: Type.String(),
    koiName: nullable(Type.String()),
    kepid: nullable(Type.Integer()),
    radiusEarth: Type.Number({ description: 'Planet radius in Earth radii' }),
    insolationEarth: Type.Number({ description: 'Stellar flux received, in Earth fluxes' }),
    orbitalPeriodDays: NullableNumber,
    equilibriumTempK: NullableNumber,
    starTempK: NullableNumber,
    starRadiusSolar: NullableNumber,
    launchCount: Type.Integer({ minimum: 0, description: 'Launches targeting the planet that are not aborted' })
  },
  { additionalProperties: false }
)
export type Planet = Static<typeof PlanetSchema>
