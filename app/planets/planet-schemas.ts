import { Type, type Static } from 'typebox'

const NullableNumber = Type.Union([Type.Number(), Type.Null()])

export const PlanetSchema = Type.Object(
  {
    keplerName: Type.String(),
    koiName: Type.Union([Type.String(), Type.Null()]),
    kepid: Type.Union([Type.Integer(), Type.Null()]),
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
