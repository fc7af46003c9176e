import { Duration, Fn, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { MissionControlConfig } from './config';
import { DatabaseRoles } from './database-roles';

export interface NetworkDataStackProps extends StackProps {
  readonly config: MissionControlConfig;
}

const POSTGRES_LOG_TYPES = ['postgresql', 'upgrade'];

/**
 * The long-lived layer: VPC, the web instances' security group and the PostgreSQL database.
 * Kept apart from the web environment so replacing the environment never touches data.
 */
export class NetworkDataStack extends Stack {
  readonly vpc: ec2.Vpc;
  /** Attached to the EB instances; the only source allowed into the database. */
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly database: rds.DatabaseInstance;
  /** RDS-managed master user secret ({"username","password"}); RDS rotates it. Nothing but the roles function reads it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The roles the service uses instead of the master user, each with its rotated secret. */
  readonly roles: DatabaseRoles;

  constructor(scope: Construct, id: string, props: NetworkDataStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    this.vpc.addFlowLog('RejectedTrafficFlowLog', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: logs.RetentionDays.THREE_MONTHS,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });

    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'Mission Control web instances (Elastic Beanstalk); may reach the database',
      allowAllOutbound: true,
    });
    const databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      description: 'Mission Control PostgreSQL; ingress only from the web instances',
      allowAllOutbound: false,
    });

    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    const instanceIdentifier = `${config.environmentName}-db`;
    // Created here (not via cloudwatchLogsRetention) so retention needs no custom-resource Lambda.
    const exportedLogGroups = POSTGRES_LOG_TYPES.map(
      (logType) =>
        new logs.LogGroup(this, `DatabaseLogGroup-${logType}`, {
          logGroupName: `/aws/rds/instance/${instanceIdentifier}/${logType}`,
          retention: logs.RetentionDays.THREE_MONTHS,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
    );

    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceIdentifier,
      instanceType: new ec2.InstanceType(config.databaseInstanceType),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [databaseSecurityGroup],
      publiclyAccessible: false,
      databaseName: config.databaseName,
      credentials: rds.Credentials.fromUsername('mission_control_admin'),
      // RDS creates the secret in Secrets Manager and rotates it (every 7 days) without a Lambda.
      manageMasterUserPassword: true,
      multiAz: config.databaseMultiAz,
      storageType: rds.StorageType.GP3,
      allocatedStorage: config.databaseAllocatedStorageGiB,
      maxAllocatedStorage: config.databaseMaxAllocatedStorageGiB,
      storageEncrypted: true,
      backupRetention: Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine,
        description: 'Mission Control PostgreSQL 16: TLS required',
        parameters: { 'rds.force_ssl': '1' },
      }),
      cloudwatchLogsExports: POSTGRES_LOG_TYPES,
    });
    exportedLogGroups.forEach((logGroup) => this.database.node.addDependency(logGroup));
    this.database.connections.allowDefaultPortFrom(
      this.instanceSecurityGroup,
      'PostgreSQL from the web instances',
    );
    if (!this.database.secret) throw new Error('RDS-managed master secret missing');
    this.masterSecret = this.database.secret;
    this.roles = new DatabaseRoles(this, 'Roles', {
      vpc: this.vpc,
      database: this.database,
      masterSecret: this.masterSecret,
      databaseName: config.databaseName,
    });

    Validations.of(this.database).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason: 'Only the instance security group can reach the private database; a non-default port adds no protection.',
    });
    if (!config.databaseMultiAz) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Multi-AZ was turned off with the databaseMultiAz context parameter (non-production copy).',
      });
    }
  }

  /**
   * The region's first two zones, resolved by CloudFormation (Fn::GetAZs) instead of a
   * context lookup, so `cdk synth` needs no AWS credentials.
   */
  override get availabilityZones(): string[] {
    return [0, 1].map((index) => Fn.select(index, Fn.getAzs()));
  }
}
