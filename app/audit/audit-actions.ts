// Plain data (no schema library), so the dashboard can import it without bundling one.
/** The actions the trail records; the launch, SpaceX and planet ones come from the write path. */
export const AUDIT_ACTIONS = [
  'launch.scheduled',
  'launch.aborted',
  'spacex.synced',
  'planets.imported',
  'session.signed_in',
  'session.sign_in_failed',
  'session.signed_out',
  'token.created',
  'token.revoked',
  'operator.created',
  'operator.disabled',
  'operator.invite_accepted',
  'operator.password_reset'
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]
