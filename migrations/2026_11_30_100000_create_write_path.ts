// The tables every write shares (app/writes/): who did what (audit_events), what changed for readers
// (change_events, the feed other instances and browsers follow) and the answers to retried
// requests (idempotency_keys). Each write commits its rows here in the same transaction as the change.
// Frozen: never edit an applied migration, never import application code; add a new file instead.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // 1. The audit trail. Rows are never updated or deleted. operator_id and token_id get their
  //    foreign keys in the migration that creates operators and tokens.
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('action', 'text', (col) => col.notNull().check(sql`action ~ '^[a-z_]+\\.[a-z_]+$'`))
    .addColumn('actor_type', 'text', (col) => col.notNull().check(sql`actor_type in ('operator', 'system', 'anonymous')`))
    .addColumn('operator_id', 'integer')
    .addColumn('token_id', 'integer')
    // The system actor's name ('spacex-sync', 'planet-import'); null for people.
    .addColumn('system_name', 'text')
    .addColumn('subject_type', 'text')
    .addColumn('subject_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addCheckConstraint('audit_events_operator_acts', sql`(actor_type = 'operator') = (operator_id is not null)`)
    .addCheckConstraint('audit_events_system_named', sql`(actor_type = 'system') = (system_name is not null)`)
    .addCheckConstraint('audit_events_token_has_operator', sql`token_id is null or operator_id is not null`)
    .execute()
  // The audit page lists newest first, filtered by action or operator.
  await db.schema.createIndex('audit_events_action_id_idx').on('audit_events').columns(['action', 'id']).execute()
  await db.schema.createIndex('audit_events_operator_id_id_idx').on('audit_events').columns(['operator_id', 'id']).execute()

  // 2. The change feed. Ids follow commit order (writers take an advisory lock just before adding
  //    their rows), so "every event after the last id seen" never skips one that committed late.
  await db.schema
    .createTable('change_events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('type', 'text', (col) => col.notNull().check(sql`type in ('launch', 'sync', 'planets')`))
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  // Retention deletes by age.
  await db.schema.createIndex('change_events_created_at_idx').on('change_events').column('created_at').execute()

  // 3. Answers to requests sent with an Idempotency-Key, per caller, so a retry gets the original
  //    answer instead of a second launch. Kept 24 hours.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('key', 'text', (col) => col.notNull().check(sql`char_length(key) between 1 and 255`))
    .addColumn('request_hash', 'text', (col) => col.notNull())
    // Written at the end of the transaction that claimed the key; a committed row always has it.
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['scope', 'key'])
    .execute()
  await db.schema.createIndex('idempotency_keys_created_at_idx').on('idempotency_keys').column('created_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute()
  await db.schema.dropTable('change_events').execute()
  await db.schema.dropTable('audit_events').execute()
}
