import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaNodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseRolesProperties } from '../lambda/database-roles';

const HANDLER_DIR = join(__dirname, '..', 'lambda', 'database-roles');

/** Login names; the secrets hold them, the custom resource creates them. */
export const MIGRATION_ROLE = 'mission_control_migrator';
export const APP_ROLE = 'mission_control_app';

/** Secrets Manager rotates each role's password this often (single-user rotation, see below). */
export const ROTATION_INTERVAL = Duration.days(30);

export interface DatabaseRolesProps {
  readonly vpc: ec2.IVpc;
  readonly database: rds.DatabaseInstance;
  /** The RDS-managed master secret ({"username","password"}); only the custom resource reads it. */
  readonly masterSecret: secretsmanager.ISecret;
  readonly databaseName: string;
}

/**
 * Least-privilege database roles, each with its own rotated secret: the migration role owns the
 * schema (the predeploy hook migrates as it), the app role reads and writes rows (the web process).
 * A custom resource, a Lambda in the VPC, creates them as the master user (../lambda/database-roles).
 *
 * Rotation is single-user for both (Secrets Manager User Guide, "Lambda function rotation
 * strategies"): the migration role owns objects, and an alternating clone would own whatever it
 * creates; the service re-reads its secret and retries when PostgreSQL rejects a password during
 * the seconds a single-user rotation takes (docs/production-database.md, "Rotation").
 */
export class DatabaseRoles extends Construct {
  /** `{"username","password","engine","host","port","dbname"}` of the migration role. */
  readonly migrationSecret: secretsmanager.ISecret;
  /** The same for the app role. */
  readonly appSecret: secretsmanager.ISecret;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DatabaseRolesProps) {
    super(scope, id);
    const { vpc, database } = props;
    const appSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const roleSecret = (secretId: string, username: string) =>
      new rds.DatabaseSecret(this, secretId, { username, dbname: props.databaseName }).attach(database);
    this.migrationSecret = roleSecret('MigrationSecret', MIGRATION_ROLE);
    this.appSecret = roleSecret('AppSecret', APP_ROLE);

    // In the app subnets: it reaches the database directly and Secrets Manager through the NAT.
    const securityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'Mission Control database roles function; may reach the database',
      allowAllOutbound: true,
    });
    database.connections.allowDefaultPortFrom(securityGroup, 'PostgreSQL from the database roles function');
    const onEvent = new lambdaNodejs.NodejsFunction(this, 'Function', {
      entry: join(HANDLER_DIR, 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      depsLockFilePath: join(__dirname, '..', 'package-lock.json'),
      projectRoot: join(__dirname, '..'),
      // pg-native is pg's optional native binding; the SDK is part of the Lambda runtime.
      bundling: { externalModules: ['@aws-sdk/*', 'pg-native'], minify: true },
      environment: { DATABASE_SSL_CA_FILE: '/var/runtime/ca-cert.pem' },
      timeout: Duration.minutes(2),
      vpc,
      vpcSubnets: appSubnets,
      securityGroups: [securityGroup],
      logGroup: new logs.LogGroup(this, 'FunctionLogs', {
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      description: 'Creates the Mission Control migration and app database roles (CloudFormation custom resource)',
    });
    for (const secret of [props.masterSecret, this.migrationSecret, this.appSecret]) secret.grantRead(onEvent);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    const properties: DatabaseRolesProperties = {
      MasterSecretArn: props.masterSecret.secretArn,
      MigrationSecretArn: this.migrationSecret.secretArn,
      AppSecretArn: this.appSecret.secretArn,
      Host: database.dbInstanceEndpointAddress,
      Port: database.dbInstanceEndpointPort,
      DatabaseName: props.databaseName,
    };
    this.resource = new CustomResource(this, 'Roles', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DatabaseRoles',
      // A change to the statements runs them again on the next deploy.
      properties: { ...properties, Statements: statementsDigest() },
    });

    for (const [name, secret] of [['Migration', this.migrationSecret], ['App', this.appSecret]] as const) {
      new secretsmanager.SecretRotation(this, `${name}SecretRotation`, {
        application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
        secret,
        target: database,
        vpc,
        vpcSubnets: appSubnets,
        automaticallyAfter: ROTATION_INTERVAL,
      });
      // Secrets Manager rotates as soon as the schedule exists; the role must exist by then.
      rotationSchedule(secret).node.addDependency(this.resource);
    }

    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS-maintained policy that only lets the roles and provider Lambdas write their own logs.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'AWS-maintained policy a Lambda in a VPC needs to manage its network interfaces.',
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.node.findChild('Function').node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'CDK provider framework grant to invoke the roles function (any version of it) only.',
    });
  }
}

/** The RotationSchedule SecretRotation adds under the secret it rotates. */
function rotationSchedule(secret: secretsmanager.ISecret): Construct {
  return secret.node.findChild('RotationSchedule');
}

function statementsDigest(): string {
  return createHash('sha256').update(readFileSync(join(HANDLER_DIR, 'roles.ts'))).digest('hex').slice(0, 16);
}
