import { ArnFormat, CfnOutput, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticbeanstalk from 'aws-cdk-lib/aws-elasticbeanstalk';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { MissionControlConfig } from './config';
import { LoadBalancerLookup } from './load-balancer-lookup';
import { nagPartition } from './nag';
import { toOptionSettings } from './option-settings';
import { RecommendedPlatformVersion } from './platform-lookup';
import { RegionalWebAcl } from './web-acl';

export interface WebStackProps extends StackProps {
  readonly config: MissionControlConfig;
  readonly vpc: ec2.IVpc;
  readonly instanceSecurityGroup: ec2.ISecurityGroup;
  /** The web process's credentials (DATABASE_SECRET_ID): rows only. */
  readonly appSecret: secretsmanager.ISecret;
  /** The predeploy migration's credentials (DATABASE_MIGRATION_SECRET_ID): the schema's owner. */
  readonly migrationSecret: secretsmanager.ISecret;
  /** DATABASE_POOL_MAX, sized by the connection budget (lib/connection-budget.ts). */
  readonly databasePoolMax: number;
}

/** Where the build (root buildspec.yml) puts the RDS CA bundle inside the source bundle. */
export const DATABASE_SSL_CA_FILE = '/var/app/current/certs/rds-global-bundle.pem';

/**
 * Application versions kept; older ones and their source bundles are deleted when a new version
 * is created (the region's quota is 1,000 versions). EB Developer Guide, "Configuring application
 * version lifecycle settings".
 */
export const APPLICATION_VERSIONS_KEPT = 50;

/**
 * The Elastic Beanstalk application and environment, its certificate, DNS name and WAF.
 * Settings shared by every environment live in the bundle's .ebextensions; anything set here
 * overrides them, so only environment-specific settings (plus the few that must hold from
 * creation, before any bundle is deployed; see docs/infrastructure.md) are given.
 */
export class WebStack extends Stack {
  readonly application: elasticbeanstalk.CfnApplication;
  readonly beanstalkEnvironment: elasticbeanstalk.CfnEnvironment;
  readonly instanceRole: iam.Role;
  /** Elastic Beanstalk's service role: health, managed updates, the version lifecycle. */
  readonly serviceRole: iam.Role;
  readonly certificate: acm.Certificate;
  readonly loadBalancer: LoadBalancerLookup;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const { config } = props;

    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
      hostedZoneId: config.hostedZoneId,
      zoneName: config.hostedZoneName,
    });
    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: config.domainName,
      validation: acm.CertificateValidation.fromDns(hostedZone),
    });

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Mission Control EB instances: platform agent, Session Manager, read of the two database role secrets',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('AWSElasticBeanstalkWebTier'),
        // Session Manager shells for the runbook (docs/operations.md); no SSH, no open port.
        iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'),
      ],
    });
    // The web process and the predeploy hook run on the same instances, so both secrets are here.
    props.appSecret.grantRead(this.instanceRole);
    props.migrationSecret.grantRead(this.instanceRole);
    const instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', {
      role: this.instanceRole,
    });

    const serviceRole = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('elasticbeanstalk.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': 'elasticbeanstalk' } },
      }),
      description: 'Elastic Beanstalk service role: enhanced health, health streaming, managed updates, version lifecycle',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSElasticBeanstalkEnhancedHealth'),
        iam.ManagedPolicy.fromAwsManagedPolicyName('AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy'),
      ],
    });
    this.serviceRole = serviceRole;
    // Health streaming (.ebextensions/05-logs.config) writes with the service role; a custom one
    // needs these three actions. EB Developer Guide, "Streaming Elastic Beanstalk environment
    // health information to Amazon CloudWatch Logs", narrowed to this environment's log group.
    const healthLogGroupName = `/aws/elasticbeanstalk/${config.environmentName}/environment-health.log`;
    serviceRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [
          this.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${healthLogGroupName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    this.application = new elasticbeanstalk.CfnApplication(this, 'Application', {
      applicationName: config.applicationName,
      description: 'Mission Control (versions are created by the pipeline)',
      resourceLifecycleConfig: {
        // The managed-updates policy on this role allows elasticbeanstalk:* and deleting objects in
        // elasticbeanstalk-* buckets; the pipeline stack lets it delete bundles in its artifact bucket.
        serviceRole: serviceRole.roleArn,
        versionLifecycleConfig: {
          maxCountRule: { enabled: true, maxCount: APPLICATION_VERSIONS_KEPT, deleteSourceFromS3: true },
        },
      },
    });

    const subnetIds = (subnets: ec2.ISubnet[]) => subnets.map((subnet) => subnet.subnetId).join(',');
    this.beanstalkEnvironment = new elasticbeanstalk.CfnEnvironment(this, 'Environment', {
      applicationName: this.application.ref,
      environmentName: config.environmentName,
      cnamePrefix: config.environmentName,
      platformArn: new RecommendedPlatformVersion(this, 'Platform', { branchName: config.platformBranch }).platformArn,
      // No versionLabel: the pipeline owns versions; EB starts with its sample app (docs/infrastructure.md).
      optionSettings: toOptionSettings({
        'aws:ec2:vpc': {
          VPCId: props.vpc.vpcId,
          Subnets: subnetIds(props.vpc.privateSubnets),
          ELBSubnets: subnetIds(props.vpc.publicSubnets),
          ELBScheme: 'public',
          AssociatePublicIpAddress: 'false',
        },
        'aws:ec2:instances': { InstanceTypes: config.instanceTypes.join(',') },
        'aws:autoscaling:asg': {
          MinSize: String(config.minInstances),
          MaxSize: String(config.maxInstances),
        },
        'aws:autoscaling:launchconfiguration': {
          IamInstanceProfile: instanceProfile.instanceProfileName,
          SecurityGroups: props.instanceSecurityGroup.securityGroupId,
        },
        'aws:elasticbeanstalk:environment': {
          ServiceRole: serviceRole.roleArn,
          // Fixed at creation, before any bundle (and its .ebextensions) has been deployed.
          LoadBalancerType: 'application',
        },
        'aws:elbv2:listener:443': {
          // Protocol also lives in .ebextensions; repeated so the listener exists from creation.
          Protocol: 'HTTPS',
          SSLCertificateArns: this.certificate.certificateArn,
        },
        // Managed updates require enhanced health, and the environment is created before any
        // bundle (whose .ebextensions also set this) is deployed.
        'aws:elasticbeanstalk:healthreporting:system': { SystemType: 'enhanced' },
        'aws:elasticbeanstalk:managedactions': {
          ManagedActionsEnabled: 'true',
          PreferredStartTime: config.maintenanceWindowStart,
        },
        'aws:elasticbeanstalk:managedactions:platformupdate': { UpdateLevel: 'minor' },
        'aws:elasticbeanstalk:application:environment': {
          DATABASE_SECRET_ID: props.appSecret.secretArn,
          DATABASE_MIGRATION_SECRET_ID: props.migrationSecret.secretArn,
          DATABASE_POOL_MAX: String(props.databasePoolMax),
          // The Environment dimension of the service's metrics (alarms and dashboard select it).
          METRICS_ENVIRONMENT: config.environmentName,
          DATABASE_SSL_CA_FILE,
          AWS_REGION: this.region,
        },
      }),
    });

    const environmentHost = `${config.environmentName}.${this.region}.elasticbeanstalk.com`;
    const aliasRecord = new route53.ARecord(this, 'AliasRecord', {
      zone: hostedZone,
      recordName: config.domainName,
      target: route53.RecordTarget.fromAlias(
        new route53Targets.ElasticBeanstalkEnvironmentEndpointTarget(environmentHost),
      ),
    });
    // The target is a name built from configuration, so nothing else orders the record after the
    // environment that owns that name.
    aliasRecord.node.addDependency(this.beanstalkEnvironment);

    this.loadBalancer = new LoadBalancerLookup(this, 'LoadBalancer', {
      applicationName: this.application.ref,
      environmentName: this.beanstalkEnvironment.ref,
    });
    const { webAcl } = new RegionalWebAcl(this, 'Firewall', {
      rateLimitPer5Minutes: config.wafRateLimitPer5Minutes,
    });
    new wafv2.CfnWebACLAssociation(this, 'FirewallAssociation', {
      resourceArn: this.loadBalancer.loadBalancerArn,
      webAclArn: webAcl.attrArn,
    });

    new CfnOutput(this, 'Url', { value: `https://${config.domainName}` });
    new CfnOutput(this, 'EnvironmentHost', { value: environmentHost });
    new CfnOutput(this, 'InstanceProfileName', { value: instanceProfile.instanceProfileName });

    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSElasticBeanstalkWebTier]',
      reason: 'AWS-maintained instance policy the EB platform agent needs (log upload, health, X-Ray).',
    });
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'AWS-maintained policy Session Manager needs on the instance; the runbook uses it instead of SSH.',
    });
    Validations.of(serviceRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:logs:${this.region}:${this.account}:log-group:${healthLogGroupName}:*]`,
      reason: 'Log streams EB creates in this environment\'s health log group; names are dated, unknown ahead.',
    });
    Validations.of(serviceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSElasticBeanstalkEnhancedHealth]',
      reason: 'AWS-maintained policy that EB enhanced health reporting requires of its service role.',
    });
    Validations.of(serviceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy]',
      reason: 'AWS-maintained policy that EB managed platform updates require of the service role.',
    });
    Validations.of(this.beanstalkEnvironment).acknowledge({
      id: 'AwsSolutions-EB4',
      reason: 'Instance logs stream to CloudWatch Logs (set in the bundle .ebextensions) instead of S3.',
    });
  }
}
