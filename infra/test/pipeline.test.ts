import t from 'tap';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../lib/config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_CACHE_PREFIX, BUILDSPEC_PATH } from '../lib/pipeline-stack';
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

/** Statements of the policies attached to the role a pipeline action runs with. */
function actionRoleStatements(template: typeof pipeline, action: any): any[] {
  const roleId = action.RoleArn['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
}

t.test("the source action may use the connection, with the action prefix of the connection's ARN", async (t) => {
  const cases = [
    ['codeconnections', DEFAULT_CONFIG.connectionArn],
    ['codestar-connections', 'arn:aws:codestar-connections:us-east-1:123456789012:connection/11111111-1111-1111-1111-111111111111'],
  ];
  for (const [service, connectionArn] of cases) {
    t.match(connectionArn, `arn:aws:${service}:`);
    const template = service === 'codeconnections' ? pipeline : synthesize({ connectionArn }).templates.pipeline;
    const [, synthesized] = single(template, 'AWS::CodePipeline::Pipeline');
    const [source] = synthesized.Properties.Stages[0].Actions;
    const statements = actionRoleStatements(template, source);
    const allowed = statements.filter(
      (statement) => [statement.Action].flat().includes(`${service}:UseConnection`) && statement.Resource === connectionArn,
    );
    t.equal(allowed.length, 1, `${service}:UseConnection on ${connectionArn}`);
  }
  t.throws(
    () => synthesize({ connectionArn: 'arn:aws:codecommit:us-east-1:123456789012:repo' }),
    /connectionArn.*codeconnections or codestar-connections/,
  );
});

t.test("CodeBuild keeps the npm cache that buildspec.yml declares, in S3", async (t) => {
  const [, project] = single(pipeline, 'AWS::CodeBuild::Project');
  const [bucketId] = single(pipeline, 'AWS::S3::Bucket');
  t.same(project.Properties.Cache, {
    Type: 'S3',
    Location: { 'Fn::Join': ['/', [{ Ref: bucketId }, BUILD_CACHE_PREFIX]] },
  });
  const buildspec = readFileSync(join(__dirname, '..', '..', BUILDSPEC_PATH), 'utf8');
  t.match(buildspec, /^cache:\n  paths:\n    - \/root\/\.npm\/\*\*\/\*$/m, 'the npm cache directory of the root user CodeBuild runs as');
  const [, bucket] = single(pipeline, 'AWS::S3::Bucket');
  t.same(bucket.Properties.LifecycleConfiguration.Rules, [
    { Prefix: `${BUILD_CACHE_PREFIX}/`, ExpirationInDays: 30, Status: 'Enabled' },
  ]);
});

t.test("Elastic Beanstalk's service role may delete old versions' bundles from the artifact bucket", async (t) => {
  const [bucketId] = single(pipeline, 'AWS::S3::Bucket');
  const policies = Object.values(pipeline.findResources('AWS::IAM::Policy')).filter((policy: any) =>
    policy.Properties.PolicyDocument.Statement.some((statement: any) => statement.Action === 's3:DeleteObject'),
  ) as any[];
  t.equal(policies.length, 1);
  const [policy] = policies;
  t.same(policy.Properties.PolicyDocument.Statement, [
    {
      Action: 's3:DeleteObject',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
    },
  ]);
  const [roleReference] = policy.Properties.Roles;
  const serviceRoleId = Object.entries(web.findResources('AWS::IAM::Role')).find(([, role]: [string, any]) =>
    JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('elasticbeanstalk.amazonaws.com'),
  )![0];
  t.match(JSON.stringify(roleReference), /Fn::Select|Fn::Split|GetStackOutput|ImportValue/, 'the role name from its ARN');
  t.match(JSON.stringify(exportedValue(web, findReference(roleReference))), serviceRoleId);
});

/** The cross-stack reference inside an expression built from an imported role's ARN. */
function findReference(value: unknown): unknown {
  if (value && typeof value === 'object') {
    if ('Fn::GetStackOutput' in value || 'Fn::ImportValue' in value) return value;
    for (const child of Object.values(value)) {
      const found = findReference(child);
      if (found) return found;
    }
  }
  return undefined;
}
