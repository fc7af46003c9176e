import t from 'tap';
import { readConfig, DEFAULT_CONFIG } from '../lib/config';
import { environmentOptions, single, synthesize } from './synth';

// Context given with `cdk -c key=value` arrives as strings.
const context = {
  stackPrefix: 'McStaging',
  environmentName: 'mission-control-staging',
  domainName: 'staging.example.org',
  hostedZoneId: 'Z999EXAMPLE',
  hostedZoneName: 'example.org',
  repositoryOwner: 'acme',
  repositoryName: 'mc',
  repositoryBranch: 'release',
  instanceTypes: 't3.medium,t3.large',
  minInstances: '3',
  maxInstances: '9',
  databaseInstanceType: 'm7g.large',
  databaseAllocatedStorageGiB: '50',
  databaseMultiAz: 'false',
  alarmEmail: 'oncall@example.org',
  monthlyBudgetUsd: '900',
  platformBranch: 'Node.js 24 running on 64bit Amazon Linux 2023',
  databasePoolMax: '6',
  databaseConnectionsAlarmThreshold: '500',
};
const { stacks, templates, report } = synthesize(context);

t.test('every parameter comes from context, none from code', async (t) => {
  t.same(
    [stacks.data, stacks.web, stacks.operations, stacks.pipeline].map((stack) => stack.stackName),
    ['McStaging-NetworkData', 'McStaging-Web', 'McStaging-Operations', 'McStaging-Pipeline'],
  );
  const options = environmentOptions(templates.web);
  t.equal(options.get('aws:ec2:instances/InstanceTypes'), 't3.medium,t3.large');
  t.equal(options.get('aws:autoscaling:asg/MinSize'), '3');
  t.equal(options.get('aws:autoscaling:asg/MaxSize'), '9');
  t.equal(options.get('aws:elasticbeanstalk:application:environment/DATABASE_POOL_MAX'), '6');
  const [, environment] = single(templates.web, 'AWS::ElasticBeanstalk::Environment');
  const platformLookup = Object.values(templates.web.findResources('Custom::AWS')).find((resource: any) =>
    JSON.stringify(resource.Properties.Create).includes('listPlatformVersions'),
  ) as any;
  t.match(platformLookup.Properties.Create, 'Node.js 24 running on 64bit Amazon Linux 2023');
  t.equal(environment.Properties.CNAMEPrefix, 'mission-control-staging');
  templates.web.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: 'staging.example.org' });
  templates.web.hasResourceProperties('AWS::Route53::RecordSet', {
    Name: 'staging.example.org.',
    HostedZoneId: 'Z999EXAMPLE',
  });

  const [, database] = single(templates.data, 'AWS::RDS::DBInstance');
  t.equal(database.Properties.DBInstanceClass, 'db.m7g.large');
  t.equal(database.Properties.AllocatedStorage, '50');
  t.equal(database.Properties.MultiAZ, false);

  const [, pipeline] = single(templates.pipeline, 'AWS::CodePipeline::Pipeline');
  t.match(JSON.stringify(pipeline.Properties.Stages[0]), /"FullRepositoryId":"acme\/mc","BranchName":"release"/);
  templates.operations.hasResourceProperties('AWS::Budgets::Budget', {
    Budget: { BudgetLimit: { Amount: 900, Unit: 'USD' } },
  });
  templates.operations.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'oncall@example.org' });
  templates.operations.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DatabaseConnections', Threshold: 500 });
});

t.test('turning Multi-AZ off is acknowledged, so the copy still passes cdk-nag', async (t) => {
  t.same(report.pluginReports.flatMap((plugin) => plugin.violations), []);
});

t.test('invalid context is rejected with a clear message', async (t) => {
  const read = (overrides: Record<string, unknown>) => (key: string) => overrides[key];
  t.throws(() => readConfig(read({ minInstances: 'two' })), /minInstances.*number/);
  t.throws(() => readConfig(read({ databaseMultiAz: 'yes' })), /databaseMultiAz.*true or false/);
  t.throws(() => readConfig(read({ minInstances: 5, maxInstances: 2 })), /minInstances <= maxInstances/);
  t.throws(() => readConfig(read({ databasePoolMax: 'ten' })), /databasePoolMax.*number/);
  t.same(readConfig(read({})), DEFAULT_CONFIG);
  t.equal(readConfig(read({ databaseMaxConnections: '81' })).databaseMaxConnections, 81);
});
