// CloudFormation custom resource (through the CDK provider framework): creates the database's
// migration and app roles from their secrets, logged in as the RDS master user over verified TLS.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { applyDatabaseRoles, type RoleCredentials } from './roles';

/**
 * Every Amazon CA, RDS's included, as the Node.js 20+ Lambda runtimes ship it; they no longer load
 * it by default (Lambda Developer Guide, "Building Lambda functions with Node.js").
 */
const LAMBDA_CA_BUNDLE = '/var/runtime/ca-cert.pem';

export interface DatabaseRolesProperties {
  readonly MasterSecretArn: string;
  readonly MigrationSecretArn: string;
  readonly AppSecretArn: string;
  readonly Host: string;
  readonly Port: string;
  readonly DatabaseName: string;
}

export interface DatabaseRolesEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResourceProperties: DatabaseRolesProperties;
  readonly PhysicalResourceId?: string;
}

async function readCredentials(client: SecretsManagerClient, secretId: string): Promise<RoleCredentials> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const { username, password } = JSON.parse(SecretString ?? '{}') as Partial<RoleCredentials>;
  if (!username || !password) throw new Error(`secret ${secretId} has no username and password`);
  return { username, password };
}

export async function handler(event: DatabaseRolesEvent) {
  const properties = event.ResourceProperties;
  const physicalResourceId = `${properties.DatabaseName}-roles`;
  // The roles own the schema and its data; they go when the database instance goes.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalResourceId };

  const secrets = new SecretsManagerClient({});
  const [master, migration, app] = await Promise.all(
    [properties.MasterSecretArn, properties.MigrationSecretArn, properties.AppSecretArn].map((id) =>
      readCredentials(secrets, id),
    ),
  );
  secrets.destroy();

  const client = new pg.Client({
    host: properties.Host,
    port: Number(properties.Port),
    database: properties.DatabaseName,
    user: master.username,
    password: master.password,
    ssl: { ca: readFileSync(process.env.DATABASE_SSL_CA_FILE ?? LAMBDA_CA_BUNDLE, 'utf8'), rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
    application_name: 'mission-control-roles',
  });
  await client.connect();
  try {
    const created = await applyDatabaseRoles(client, { database: properties.DatabaseName, migration, app });
    console.log(JSON.stringify({ message: 'database roles applied', created }));
    return { PhysicalResourceId: physicalResourceId };
  } finally {
    await client.end();
  }
}
