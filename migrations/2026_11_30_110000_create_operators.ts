// Operators and their credentials: accounts, sessions, API tokens, one-time setup and invite links,
// the failed sign-in counter, who scheduled or aborted each launch, and the audit trail's keys.
// Frozen: never edit an applied migration, never import application code; add a new file instead.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // 1. Operators. The email is unique whatever its case (a unique index on lower(email));
  //    password_hash is null until an invited operator sets a password. Nothing is deleted:
  //    a disabled operator keeps its row, so audit rows and launches keep their author.
  await db.schema
    .createTable('operators')
    .addColumn('id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (col) => col.notNull().check(sql`char_length(email) between 3 and 254 and email like '%_@_%'`))
    .addColumn('display_name', 'text', (col) => col.notNull().check(sql`char_length(display_name) between 1 and 100`))
    .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('operator', 'admin')`))
    .addColumn('password_hash', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('password_changed_at', 'timestamptz')
    .addColumn('disabled_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('operators_email_key').on('operators').unique().expression(sql`lower(email)`).execute()

  // 2. Sessions: only the sha256 of the cookie's random id is stored, so a leaked table signs no
  //    one in. Expiry is enforced in the lookup (12 h idle, expires_at absolute); signing out,
  //    disabling the operator or resetting the password delete the rows.
  await db.schema
    .createTable('operator_sessions')
    .addColumn('id_hash', 'text', (col) => col.primaryKey().check(sql`id_hash ~ '^[0-9a-f]{64}$'`))
    .addColumn('operator_id', 'integer', (col) => col.notNull().references('operators.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute()
  await db.schema.createIndex('operator_sessions_operator_id_idx').on('operator_sessions').column('operator_id').execute()

  // 3. API tokens, stored as the sha256 of `mc_<random>`. Revoked tokens keep their row (the audit
  //    trail names them); every token expires.
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('operator_id', 'integer', (col) => col.notNull().references('operators.id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull().check(sql`char_length(name) between 1 and 100`))
    .addColumn('token_hash', 'text', (col) => col.notNull().unique().check(sql`token_hash ~ '^[0-9a-f]{64}$'`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('api_tokens_operator_id_idx').on('api_tokens').column('operator_id').execute()

  // 4. One-time links: 'setup' creates the first admin (no operator yet), 'invite' lets an operator
  //    an admin created set a password. Stored hashed, so any instance accepts a link another logged.
  await db.schema
    .createTable('operator_invites')
    .addColumn('token_hash', 'text', (col) => col.primaryKey().check(sql`token_hash ~ '^[0-9a-f]{64}$'`))
    .addColumn('purpose', 'text', (col) => col.notNull().check(sql`purpose in ('setup', 'invite')`))
    .addColumn('operator_id', 'integer', (col) => col.references('operators.id').onDelete('cascade'))
    .addColumn('created_by', 'integer', (col) => col.references('operators.id'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('used_at', 'timestamptz')
    .addCheckConstraint('operator_invites_operator_iff_invite', sql`(purpose = 'invite') = (operator_id is not null)`)
    .execute()

  // 5. Failed sign-ins, counted per account (email as typed, lower-cased, known or not) and per
  //    client IP over a sliding window; rows older than the window are pruned on the way.
  await db.schema
    .createTable('sign_in_failures')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('ip', 'text', (col) => col.notNull())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('sign_in_failures_email_idx').on('sign_in_failures').columns(['email', 'occurred_at']).execute()
  await db.schema.createIndex('sign_in_failures_ip_idx').on('sign_in_failures').columns(['ip', 'occurred_at']).execute()
  await db.schema.createIndex('sign_in_failures_occurred_at_idx').on('sign_in_failures').column('occurred_at').execute()

  // 6. Who scheduled and who aborted each launch (null for SpaceX, anonymous writes and history).
  await db.schema
    .alterTable('launches')
    .addColumn('scheduled_by', 'integer', (col) => col.references('operators.id'))
    .addColumn('aborted_by', 'integer', (col) => col.references('operators.id'))
    .execute()

  // 7. The audit trail (2026_11_30_100000) names operators and tokens: now they exist, the
  //    database holds it to that. Operators and tokens are never deleted, only disabled or revoked.
  await db.schema
    .alterTable('audit_events')
    .addForeignKeyConstraint('audit_events_operator_id_fkey', ['operator_id'], 'operators', ['id'])
    .execute()
  await db.schema
    .alterTable('audit_events')
    .addForeignKeyConstraint('audit_events_token_id_fkey', ['token_id'], 'api_tokens', ['id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_events').dropConstraint('audit_events_token_id_fkey').execute()
  await db.schema.alterTable('audit_events').dropConstraint('audit_events_operator_id_fkey').execute()
  await db.schema.alterTable('launches').dropColumn('scheduled_by').dropColumn('aborted_by').execute()
  for (const table of ['sign_in_failures', 'operator_invites', 'api_tokens', 'operator_sessions', 'operators']) {
    await db.schema.dropTable(table).execute()
  }
}
