import fp from 'fastify-plugin'

export interface SpacexSyncPluginOptions {
  apiUrl: string
  timeoutMs: number
  syncOnStart: boolean
}

// PLACEHOLDER: replaced by the SpaceX sync work.
export default fp<SpacexSyncPluginOptions>(async () => {}, { name: 'spacex-sync', dependencies: ['database'] })
