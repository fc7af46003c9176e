import fp from 'fastify-plugin'

// PLACEHOLDER: replaced by the dashboard work (serves client-dist/).
export default fp(async () => {}, { name: 'dashboard' })
