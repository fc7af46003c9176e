import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { MissionControlConfig } from './config';
import { nagPartition } from './nag';

export interface PipelineStackProps extends StackProps {
  readonly config: MissionControlConfig;
  readonly applicationName: string;
  readonly environmentName: string;
  /** Elastic Beanstalk's service role, which deletes old application versions' source bundles. */
  readonly beanstalkServiceRoleArn: string;
  readonly failureTopic: sns.ITopic;
}

/** Path of the build definition at the repository root; the build output is the EB bundle. */
export const BUILDSPEC_PATH = 'buildspec.yml';

/** Where CodeBuild keeps the npm cache that buildspec.yml's `cache: paths` names, in the artifact bucket. */
export const BUILD_CACHE_PREFIX = 'codebuild-cache';

/** Push to the branch → CodeBuild runs the repository's buildspec → Elastic Beanstalk deploy. */
export class PipelineStack extends Stack {
  readonly pipeline: codepipeline.Pipeline;
  readonly buildProject: codebuild.PipelineProject;
  readonly artifactBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.artifactBucket = new s3.Bucket(this, 'ArtifactBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Old bundles stay available for rollback through the EB application versions.
      removalPolicy: RemovalPolicy.RETAIN,
      // CodeBuild rewrites the cache on every build; a cache nobody refreshed for a month goes.
      lifecycleRules: [{ prefix: `${BUILD_CACHE_PREFIX}/`, expiration: Duration.days(30) }],
    });
    // The EB deploy action creates application versions from bundles in this bucket; the
    // application's lifecycle rule (keep 50) deletes their bundles with EB's service role.
    new iam.Policy(this, 'BeanstalkDeletesOldBundles', {
      roles: [iam.Role.fromRoleArn(this, 'BeanstalkServiceRole', props.beanstalkServiceRoleArn)],
      statements: [
        new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [this.artifactBucket.arnForObjects('*')] }),
      ],
    });

    this.buildProject = new codebuild.PipelineProject(this, 'Build', {
      description: 'Builds the Elastic Beanstalk bundle from the repository buildspec',
      buildSpec: codebuild.BuildSpec.fromSourceFilename(BUILDSPEC_PATH),
      environment: {
        // x86_64 like the default t3 instances, so any native module matches.
        buildImage: codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5,
        computeType: codebuild.ComputeType.SMALL,
      },
      timeout: Duration.minutes(20),
      // S3 rather than LOCAL: a local cache survives only on the same build host for a short
      // while, and this pipeline builds a few times a day (docs/infrastructure.md, "Build cache").
      cache: codebuild.Cache.bucket(this.artifactBucket, { prefix: BUILD_CACHE_PREFIX }),
      logging: {
        cloudWatch: {
          logGroup: new logs.LogGroup(this, 'BuildLogs', {
            retention: logs.RetentionDays.THREE_MONTHS,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        },
      },
    });

    // CDK grants `codestar-connections:UseConnection`; connections made since 2024 have
    // `arn:aws:codeconnections:` ARNs, and IAM matches the action's service prefix to the ARN's
    // ("Connections rename – Summary of changes", Developer Tools console user guide).
    const sourceRole = new iam.Role(this, 'SourceActionRole', {
      assumedBy: new iam.AccountPrincipal(this.account),
      description: 'CodePipeline source action: uses the GitHub connection, writes the source artifact',
    });
    const connectionService = Arn.split(config.connectionArn, ArnFormat.SLASH_RESOURCE_NAME).service;
    sourceRole.addToPolicy(
      new iam.PolicyStatement({ actions: [`${connectionService}:UseConnection`], resources: [config.connectionArn] }),
    );
    const sourceOutput = new codepipeline.Artifact('Source');
    const bundle = new codepipeline.Artifact('Bundle');
    const source = new actions.CodeStarConnectionsSourceAction({
      actionName: 'Source',
      connectionArn: config.connectionArn,
      owner: config.repositoryOwner,
      repo: config.repositoryName,
      branch: config.repositoryBranch,
      output: sourceOutput,
      triggerOnPush: true,
      role: sourceRole,
    });
    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      artifactBucket: this.artifactBucket,
      crossAccountKeys: false,
      restartExecutionOnUpdate: false,
      stages: [
        { stageName: 'Source', actions: [source] },
        {
          stageName: 'Build',
          actions: [
            new actions.CodeBuildAction({
              actionName: 'Build',
              project: this.buildProject,
              input: sourceOutput,
              outputs: [bundle],
            }),
          ],
        },
        {
          stageName: 'Deploy',
          actions: [
            new actions.ElasticBeanstalkDeployAction({
              actionName: 'Deploy',
              input: bundle,
              applicationName: props.applicationName,
              environmentName: props.environmentName,
            }),
          ],
        },
      ],
      triggers: [
        {
          providerType: codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
          gitConfiguration: {
            sourceAction: source,
            pushFilter: [{ branchesIncludes: [config.repositoryBranch] }],
          },
        },
      ],
    });
    this.pipeline.notifyOn('FailureNotification', props.failureTopic, {
      events: [codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED],
    });

    Validations.of(this.artifactBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Holds only build artifacts that the pipeline roles write and read; no other reader to audit.',
    });
    // CDK's grants on the artifact bucket use object and action wildcards, all inside that bucket.
    const bucketLogicalId = this.getLogicalId(this.artifactBucket.node.defaultChild as s3.CfnBucket);
    const artifactGrantFindings = ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*']
      .map((action) => `Action::${action}`)
      .concat(`Resource::<${bucketLogicalId}.Arn>/*`);
    for (const finding of artifactGrantFindings) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason: 'CDK-generated artifact grants; every wildcard is limited to the pipeline artifact bucket.',
      });
    }
    const buildLogicalId = this.getLogicalId(this.buildProject.node.defaultChild as codebuild.CfnProject);
    Validations.of(this.buildProject).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:logs:${this.region}:${this.account}:log-group:/aws/codebuild/<${buildLogicalId}>:*]`,
      reason: "CDK's default grant for the project's own log streams; the project logs to its own group.",
    });
    Validations.of(this.buildProject).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:codebuild:${this.region}:${this.account}:report-group/<${buildLogicalId}>-*]`,
      reason: 'Lets buildspec.yml publish test reports, limited to report groups prefixed with this project.',
    });
    Validations.of(this.pipeline).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess-AWSElasticBeanstalk]',
      reason: 'Added by the CDK Elastic Beanstalk deploy action; EB deploys need broad EC2/ASG/ELB/CFN rights.',
    });
    Validations.of(this.buildProject).acknowledge({
      id: 'AwsSolutions-CB4',
      reason: 'Artifacts are SSE-S3 encrypted in a private, SSL-only bucket; a customer KMS key adds cost only.',
    });
  }
}
