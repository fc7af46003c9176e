import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// PLACEHOLDER: replaced by the planets work (GET /v1/planets).
const planetsRoutes: FastifyPluginAsyncTypebox = async () => {}
export default planetsRoutes
