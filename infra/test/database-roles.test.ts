// The roles custom resource's function, run for real: against a PostgreSQL cluster set up like RDS
// (TLS, scram-sha-256 only; the repository's test/support) as a master user with CREATEROLE that
// owns the database, reading its secrets through the real SDK client from a fake Secrets Manager.
import t from 'tap';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { handler, type DatabaseRolesProperties } from '../lambda/database-roles';
import { scramVerifier } from '../lambda/database-roles/roles';
import { APP_ROLE, MIGRATION_ROLE } from '../lib/database-roles';

const DATABASE = 'mission_control';
const MASTER = 'mission_control_admin';

t.test('the roles function, as CloudFormation runs it', async (t) => {
  // ESM test helpers of the service package, loaded from this CommonJS package.
  const { checkNeeds } = await import('../../test/support/needs.js');
  if (!checkNeeds(t, ['postgres-server'])) return;
  const { startPostgresCluster } = await import('../../test/support/postgres-cluster.js');
  const { startFakeSecretsManager } = await import('../../test/support/fake-secrets-manager.js');
  const cluster = await startPostgresCluster(t);
  const secretsManager = await startFakeSecretsManager(t);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    DATABASE_SSL_CA_FILE: cluster.ca.caFile,
  });

  // Like RDS: the master user owns the database and may create roles, but is no superuser.
  await cluster.createDatabase(DATABASE, MASTER, 'master-password-1');
  await cluster.admin(`alter role ${MASTER} createrole`);
  const endpoint = { engine: 'postgres', host: cluster.host, port: cluster.port, dbname: DATABASE };
  const secret = (name: string, username: string, password: string) =>
    secretsManager.putSecret(name, { ...endpoint, username, password });
  const properties: DatabaseRolesProperties = {
    MasterSecretArn: secretsManager.putSecret('rds!db-master', { username: MASTER, password: 'master-password-1' }),
    MigrationSecretArn: secret('migration', MIGRATION_ROLE, 'migration-password-1'),
    AppSecretArn: secret('app', APP_ROLE, 'app-password-1'),
    Host: cluster.host,
    Port: String(cluster.port),
    DatabaseName: DATABASE,
  };

  const connect = async (user: string, password: string) => {
    const client = new pg.Client({
      host: cluster.host,
      port: cluster.port,
      database: DATABASE,
      user,
      password,
      ssl: { ca: readFileSync(cluster.ca.caFile, 'utf8') },
    });
    await client.connect();
    t.teardown(() => client.end());
    return client;
  };
  const master = await connect(MASTER, 'master-password-1');
  // A deployment that migrated as the master user before the roles existed.
  await master.query(`
    create table planets (id integer generated always as identity primary key, name text not null);
    create table legacy_counter (id serial primary key);
    create sequence standalone_sequence;
    create type launch_status as enum ('upcoming', 'success');
    create function planet_count() returns bigint language sql as 'select count(*) from planets';
    insert into planets (name) values ('Kepler-22 b');`);

  const created = await handler({ RequestType: 'Create', ResourceProperties: properties });
  t.same(created, { PhysicalResourceId: `${DATABASE}-roles` });

  await t.test('each role logs in over TLS with scram and the password in its secret', async (t) => {
    for (const [user, password] of [[MIGRATION_ROLE, 'migration-password-1'], [APP_ROLE, 'app-password-1']]) {
      const client = await connect(user, password);
      const { rows } = await client.query('select current_user as user, ssl from pg_stat_ssl where pid = pg_backend_pid()');
      t.same(rows, [{ user, ssl: true }]);
    }
    const { rows } = await cluster.admin(`select rolpassword from pg_authid where rolname = $1`, [APP_ROLE]);
    t.match(rows[0].rolpassword, /^SCRAM-SHA-256\$4096:/, 'stored as a scram verifier');
  });

  await t.test("the master's earlier objects now belong to the migration role", async (t) => {
    const { rows } = await master.query(`
      select c.relname as name, pg_get_userbyid(c.relowner) as owner from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'S') order by 1`);
    t.same(rows.map((row) => row.owner), rows.map(() => MIGRATION_ROLE), JSON.stringify(rows));
    t.same(rows.map((row) => row.name).sort(), ['legacy_counter', 'legacy_counter_id_seq', 'planets', 'planets_id_seq', 'standalone_sequence']);
    const { rows: others } = await master.query(`
      select pg_get_userbyid(typowner) as owner from pg_type where typname = 'launch_status'
      union all select pg_get_userbyid(proowner) from pg_proc where proname = 'planet_count'`);
    t.same(others, [{ owner: MIGRATION_ROLE }, { owner: MIGRATION_ROLE }]);
  });

  await t.test('the migration role changes the schema and installs pg_trgm', async () => {
    const migration = await connect(MIGRATION_ROLE, 'migration-password-1');
    await migration.query(`
      create extension if not exists pg_trgm;
      create table launches (flight_number integer generated by default as identity primary key, mission text not null);
      alter table planets add column radius double precision;
      create index planets_name_trgm on planets using gin (name gin_trgm_ops);`);
  });

  await t.test('the app role reads and writes rows, new tables included, and nothing else', async (t) => {
    const app = await connect(APP_ROLE, 'app-password-1');
    await app.query(`insert into launches (mission) values ('Artemis')`);
    await app.query(`update launches set mission = 'Artemis II'`);
    t.same((await app.query('select mission from launches')).rows, [{ mission: 'Artemis II' }]);
    await app.query(`insert into planets (name) values ('Kepler-452 b')`);
    await app.query(`delete from planets where name = 'Kepler-452 b'`);
    await app.query('insert into legacy_counter default values');
    await app.query(`select nextval('standalone_sequence'), planet_count(), similarity('kepler', 'Kepler-22 b')`);
    // Live updates and single-runner jobs need no grant.
    await app.query(`listen launches; notify launches, 'x'; select pg_advisory_lock(42), pg_advisory_unlock(42)`);
    for (const statement of [
      'create table intruder (id integer)',
      'create temporary table scratch (id integer)',
      'drop table launches',
      'alter table planets add column moons integer',
      'truncate planets',
      'drop extension pg_trgm',
    ]) {
      await t.rejects(app.query(statement), { code: /^42501$/ }, `refused: ${statement}`);
    }
  });

  await t.test("the scram verifier is PostgreSQL's own for the same salt", async (t) => {
    await cluster.admin(`create role verifier_check login password 'correct horse battery staple'`);
    const { rows } = await cluster.admin(`select rolpassword from pg_authid where rolname = 'verifier_check'`);
    const stored = rows[0].rolpassword as string;
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored) ?? [];
    t.equal(scramVerifier('correct horse battery staple', Buffer.from(salt!, 'base64'), Number(iterations)), stored);
    t.not(scramVerifier('x'), scramVerifier('x'), 'a fresh salt each time');
  });

  await t.test('running again (an update) keeps passwords the rotation set, and a delete keeps the roles', async (t) => {
    // A single-user rotation changes the password in the database, then in the secret.
    await cluster.setPassword(APP_ROLE, 'app-password-2');
    secret('app', APP_ROLE, 'app-password-2');
    await handler({ RequestType: 'Update', ResourceProperties: properties, PhysicalResourceId: `${DATABASE}-roles` });
    await connect(APP_ROLE, 'app-password-2');
    t.same(await handler({ RequestType: 'Delete', ResourceProperties: properties, PhysicalResourceId: `${DATABASE}-roles` }), {
      PhysicalResourceId: `${DATABASE}-roles`,
    });
    const { rows } = await cluster.admin('select count(*)::int as roles from pg_roles where rolname = any($1)', [[APP_ROLE, MIGRATION_ROLE]]);
    t.same(rows, [{ roles: 2 }]);
  });
});
