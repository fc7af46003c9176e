import t from 'tap';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../lib/config';
import { BUILDSPEC_PATH } from '../lib/pipeline-stack';
import { exportedValue, single, synthesize } from './synth';

const { templates } = synthesize();
const { web, pipeline, operations } = templates;
const [, codePipeline] = single(pipeline, 'AWS::CodePipeline::Pipeline');
const stage = (name: string) => codePipeline.Properties.Stages.find((s: any) => s.Name === name);

t.test('a V2 pipeline with source, build and deploy stages', async (t) => {
  t.equal(codePipeline.Properties.PipelineType, 'V2');
  t.same(codePipeline.Properties.Stages.map((s: any) => s.Name), ['Source', 'Build', 'Deploy']);
});

t.test('the source is the connection, triggered on push to the branch', async (t) => {
  const [source] = stage('Source').Actions;
  t.equal(source.ActionTypeId.Provider, 'CodeStarSourceConnection');
  t.same(source.Configuration, {
    ConnectionArn: DEFAULT_CONFIG.connectionArn,
    FullRepositoryId: `${DEFAULT_CONFIG.repositoryOwner}/${DEFAULT_CONFIG.repositoryName}`,
    BranchName: DEFAULT_CONFIG.repositoryBranch,
    DetectChanges: true,
  });
  t.same(codePipeline.Properties.Triggers, [
    {
      ProviderType: 'CodeStarSourceConnection',
      GitConfiguration: {
        SourceActionName: source.Name,
        Push: [{ Branches: { Includes: [DEFAULT_CONFIG.repositoryBranch] } }],
      },
    },
  ]);
});

t.test("CodeBuild runs the repository's buildspec.yml", async (t) => {
  t.equal(BUILDSPEC_PATH, 'buildspec.yml');
  const [projectId, project] = single(pipeline, 'AWS::CodeBuild::Project');
  t.equal(project.Properties.Source.Type, 'CODEPIPELINE');
  t.equal(project.Properties.Source.BuildSpec, 'buildspec.yml');
  const [build] = stage('Build').Actions;
  t.equal(build.ActionTypeId.Provider, 'CodeBuild');
  t.same(build.Configuration.ProjectName, { Ref: projectId });
});

t.test('the deploy action targets the environment', async (t) => {
  const [deploy] = stage('Deploy').Actions;
  t.equal(deploy.ActionTypeId.Provider, 'ElasticBeanstalk');
  t.same(deploy.InputArtifacts, stage('Build').Actions[0].OutputArtifacts);
  t.same(exportedValue(web, deploy.Configuration.ApplicationName), {
    Ref: single(web, 'AWS::ElasticBeanstalk::Application')[0],
  });
  t.same(exportedValue(web, deploy.Configuration.EnvironmentName), {
    Ref: single(web, 'AWS::ElasticBeanstalk::Environment')[0],
  });
});

t.test('the artifact bucket is encrypted, private and SSL-only', async (t) => {
  const [bucketId, bucket] = single(pipeline, 'AWS::S3::Bucket');
  t.same(codePipeline.Properties.ArtifactStore, { Type: 'S3', Location: { Ref: bucketId } });
  t.same(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault, {
    SSEAlgorithm: 'AES256',
  });
  t.same(bucket.Properties.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  pipeline.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: bucketId },
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    },
  });
});

t.test('a failed execution notifies the alarm topic', async (t) => {
  const [, rule] = single(pipeline, 'AWS::CodeStarNotifications::NotificationRule');
  t.same(rule.Properties.EventTypeIds, ['codepipeline-pipeline-pipeline-execution-failed']);
  t.equal(rule.Properties.Targets.length, 1);
  t.same(exportedValue(operations, rule.Properties.Targets[0].TargetAddress), {
    Ref: single(operations, 'AWS::SNS::Topic')[0],
  });
});
