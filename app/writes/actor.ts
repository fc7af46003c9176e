/**
 * Who a write is done by: an operator (signed in, or through one of their API tokens), the service
 * itself (the SpaceX sync, the planet import), or nobody known (AUTH_REQUIRED=false).
 */
export type Actor =
  | { type: 'operator'; operatorId: number; tokenId?: number }
  | { type: 'system'; name: string }
  | { type: 'anonymous' }

export const ANONYMOUS: Actor = { type: 'anonymous' }

/** Idempotency keys belong to whoever sent them: one operator's key never answers another's request. */
export function idempotencyScope(actor: Actor): string {
  switch (actor.type) {
    case 'operator':
      return `operator:${actor.operatorId}`
    case 'system':
      return `system:${actor.name}`
    case 'anonymous':
      return 'anonymous'
  }
}
