import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../database/schema.js'
import { createLink, LINK_LIFETIME_HOURS } from './invites.js'
import { hasOperators } from './operators-queries.js'

/**
 * First run: while no operator exists, every start logs a fresh one-time link to /setup, where
 * the first admin is created. It is the one secret the service logs on purpose: it is refused once
 * used, once any operator exists, and after 24 h. Returns the link (undefined when not needed).
 */
export async function offerFirstRunSetup(db: Kysely<Database>, log: FastifyBaseLogger, publicUrl: string): Promise<string | undefined> {
  if (await hasOperators(db)) return undefined
  const { token } = await createLink(db, { purpose: 'setup' })
  const url = `${publicUrl.replace(/\/+$/, '')}/setup?token=${token}`
  log.warn(
    { setupUrl: url },
    `\n\n  No operator exists yet. Create the first admin account here (one-time link, valid ${LINK_LIFETIME_HOURS} h):\n\n    ${url}\n\n` +
      '  Or from a shell: npm run operator:create -- --email <email> --name <name> --role admin\n'
  )
  return url
}
