import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// PLACEHOLDER: replaced by the launches work.
const launchesRoutes: FastifyPluginAsyncTypebox = async () => {}
export default launchesRoutes
