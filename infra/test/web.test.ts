import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../lib/config';
import { COUNTED_MANAGED_RULES } from '../lib/web-acl';
import { APPLICATION_VERSIONS_KEPT, DATABASE_SSL_CA_FILE } from '../lib/web-stack';
import { environmentOptions, exportedValue, single, synthesize } from './synth';

const { templates, stacks } = synthesize();
const { data, web } = templates;
const options = environmentOptions(web);
const [certificateId, certificate] = single(web, 'AWS::CertificateManager::Certificate');
const [environmentId, environment] = single(web, 'AWS::ElasticBeanstalk::Environment');
const secretAttachments = Object.entries(data.findResources('AWS::SecretsManager::SecretTargetAttachment')) as [string, any][];
/** The attached secret of a database role, by user name (what `Ref` of the attachment returns). */
const roleSecret = (username: string) => {
  const secrets = data.findResources('AWS::SecretsManager::Secret');
  const [attachmentId] = secretAttachments.find(([, attachment]) =>
    JSON.stringify(secrets[attachment.Properties.SecretId.Ref].Properties.GenerateSecretString.SecretStringTemplate).includes(
      `\\"username\\":\\"${username}\\"`,
    ),
  )!;
  return { Ref: attachmentId };
};
const appSecretArn = roleSecret('mission_control_app');
const migrationSecretArn = roleSecret('mission_control_migrator');
const customResource = (call: string) =>
  Object.entries(web.findResources('Custom::AWS')).find(([, resource]: [string, any]) =>
    JSON.stringify(resource.Properties.Create).includes(call),
  )! as [string, any];

t.test('the platform is the recommended version of the branch, as a PlatformArn that updates in place', async (t) => {
  t.notOk(environment.Properties.SolutionStackName, 'no solution stack: changing one replaces the environment');
  const [lookupId, lookup] = customResource('listPlatformVersions');
  t.same(environment.Properties.PlatformArn, { 'Fn::GetAtt': [lookupId, 'PlatformSummaryList.0.PlatformArn'] });
  const call = JSON.parse(lookup.Properties.Create['Fn::Join'] ? lookup.Properties.Create['Fn::Join'][1].join('') : lookup.Properties.Create);
  t.same(call.parameters.Filters, [
    { Type: 'PlatformBranchName', Operator: '=', Values: [DEFAULT_CONFIG.platformBranch] },
    { Type: 'PlatformLifecycleState', Operator: '=', Values: ['recommended'] },
  ]);
  t.equal(call.physicalResourceId.id, DEFAULT_CONFIG.platformBranch, 'looked up again only when the branch changes');
  t.match(DEFAULT_CONFIG.platformBranch, /^Node\.js 22 running on 64bit Amazon Linux 2023$/);
  t.equal(environment.Properties.CNAMEPrefix, DEFAULT_CONFIG.environmentName);
  t.notOk(environment.Properties.VersionLabel, 'the pipeline owns application versions');
});

t.test('application versions: the last 50 are kept, older ones deleted with their source bundles', async (t) => {
  const [, application] = single(web, 'AWS::ElasticBeanstalk::Application');
  const lifecycle = application.Properties.ResourceLifecycleConfig;
  t.equal(APPLICATION_VERSIONS_KEPT, 50);
  t.same(lifecycle.VersionLifecycleConfig, { MaxCountRule: { Enabled: true, MaxCount: 50, DeleteSourceFromS3: true } });
  const [serviceRoleId] = serviceRole();
  t.same(lifecycle.ServiceRole, { 'Fn::GetAtt': [serviceRoleId, 'Arn'] }, "EB's service role deletes them");
});

t.test('the HTTPS listener uses the DNS-validated certificate', async (t) => {
  t.same(options.get('aws:elbv2:listener:443/SSLCertificateArns'), { Ref: certificateId });
  t.equal(options.get('aws:elbv2:listener:443/Protocol'), 'HTTPS');
  t.equal(certificate.Properties.DomainName, DEFAULT_CONFIG.domainName);
  t.same(certificate.Properties.DomainValidationOptions, [
    { DomainName: DEFAULT_CONFIG.domainName, HostedZoneId: DEFAULT_CONFIG.hostedZoneId },
  ]);
  t.equal(certificate.Properties.ValidationMethod, 'DNS');
});

t.test('HTTP stays on the default listener, where the bundle redirects it to HTTPS', async (t) => {
  // Port 80 must keep reaching nginx (the bundle's redirect, health checks exempt): nothing here
  // disables or re-routes the default listener, and the load balancer is an ALB from creation.
  const defaultListener = [...options.keys()].filter((key) => key.startsWith('aws:elbv2:listener:default/'));
  t.same(defaultListener, []);
  t.equal(options.get('aws:elasticbeanstalk:environment/LoadBalancerType'), 'application');
});

t.test("the bundle's nginx redirects HTTP to HTTPS, except the ELB health checker", async (t) => {
  const repositoryRoot = join(__dirname, '..', '..');
  const bundleConfig = ['.platform/nginx', '.ebextensions']
    .map((folder) => join(repositoryRoot, folder))
    .flatMap((folder) => readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8')))
    .join('\n');
  t.match(bundleConfig, /return\s+301\s+https:\/\//);
  t.match(bundleConfig, /ELB-HealthChecker/);
});

t.test('instances in private subnets, load balancer in public subnets of the VPC', async (t) => {
  const vpcId = single(data, 'AWS::EC2::VPC')[0];
  t.same(exportedValue(data, options.get('aws:ec2:vpc/VPCId')), { Ref: vpcId });
  const subnetRefs = (key: string) =>
    (options.get(key) as any)['Fn::Join'][1]
      .filter((part: unknown) => typeof part !== 'string')
      .map((part: unknown) => (exportedValue(data, part) as { Ref: string }).Ref);
  for (const id of subnetRefs('aws:ec2:vpc/Subnets')) t.match(id, /^Vpcapp/);
  for (const id of subnetRefs('aws:ec2:vpc/ELBSubnets')) t.match(id, /^Vpcpublic/);
  t.equal(options.get('aws:ec2:vpc/ELBScheme'), 'public');
  t.equal(options.get('aws:ec2:vpc/AssociatePublicIpAddress'), 'false');
});

t.test('instance profile, service role, instance types and sizes come from the stack', async (t) => {
  t.same(options.get('aws:autoscaling:launchconfiguration/IamInstanceProfile'), {
    Ref: single(web, 'AWS::IAM::InstanceProfile')[0],
  });
  t.match(JSON.stringify(options.get('aws:elasticbeanstalk:environment/ServiceRole')), /ServiceRole/);
  t.equal(options.get('aws:ec2:instances/InstanceTypes'), DEFAULT_CONFIG.instanceTypes.join(','));
  t.equal(options.get('aws:autoscaling:asg/MinSize'), String(DEFAULT_CONFIG.minInstances));
  t.equal(options.get('aws:autoscaling:asg/MaxSize'), String(DEFAULT_CONFIG.maxInstances));
  const instanceSg = exportedValue(data, options.get('aws:autoscaling:launchconfiguration/SecurityGroups'));
  t.match(JSON.stringify(instanceSg), /InstanceSecurityGroup/);
});

t.test('managed platform updates are on (minor level)', async (t) => {
  t.equal(options.get('aws:elasticbeanstalk:managedactions/ManagedActionsEnabled'), 'true');
  t.equal(options.get('aws:elasticbeanstalk:managedactions/PreferredStartTime'), DEFAULT_CONFIG.maintenanceWindowStart);
  t.equal(options.get('aws:elasticbeanstalk:managedactions:platformupdate/UpdateLevel'), 'minor');
  t.equal(options.get('aws:elasticbeanstalk:healthreporting:system/SystemType'), 'enhanced');
});

t.test("the role secrets' ARNs, the pool size and the metrics dimension reach the environment, never a password", async (t) => {
  const env = (name: string) => options.get(`aws:elasticbeanstalk:application:environment/${name}`);
  t.same(exportedValue(data, env('DATABASE_SECRET_ID')), appSecretArn, 'the web process is the app role');
  t.same(exportedValue(data, env('DATABASE_MIGRATION_SECRET_ID')), migrationSecretArn, 'the predeploy migration is the owner');
  t.equal(env('DATABASE_POOL_MAX'), String(stacks.connections.poolMax));
  t.equal(env('METRICS_ENVIRONMENT'), DEFAULT_CONFIG.environmentName);
  t.equal(env('DATABASE_SSL_CA_FILE'), DATABASE_SSL_CA_FILE);
  t.equal(env('AWS_REGION'), DEFAULT_CONFIG.region);
  const names = [...options.keys()]
    .filter((key) => key.startsWith('aws:elasticbeanstalk:application:environment/'))
    .map((key) => key.split('/')[1]);
  // The secrets carry host, port and database name (secret target attachment), so no DATABASE_HOST.
  t.same(names.sort(), [
    'AWS_REGION', 'DATABASE_MIGRATION_SECRET_ID', 'DATABASE_POOL_MAX', 'DATABASE_SECRET_ID', 'DATABASE_SSL_CA_FILE',
    'METRICS_ENVIRONMENT',
  ]);
  t.notMatch(JSON.stringify(environment), /password/i);
});

const roleStatements = (roleId: string) =>
  Object.values(web.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
const roleAssumedBy = (principal: string) =>
  Object.entries(web.findResources('AWS::IAM::Role')).find(([, role]: [string, any]) =>
    JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes(principal),
  )! as [string, any];
const serviceRole = () => roleAssumedBy('elasticbeanstalk.amazonaws.com');

t.test('the instance role reads the two role secrets, never the master secret, and has Session Manager', async (t) => {
  const [instanceRoleId, instanceRole] = roleAssumedBy('ec2.amazonaws.com');
  const statements = roleStatements(instanceRoleId);
  t.equal(statements.length, 1, 'one inline statement');
  t.same([statements[0].Action].flat().sort(), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  t.same(
    [statements[0].Resource].flat().map((resource: unknown) => exportedValue(data, resource)),
    [appSecretArn, migrationSecretArn],
  );
  t.notMatch(JSON.stringify(statements), /MasterUserSecret/);
  const managed = JSON.stringify(instanceRole.Properties.ManagedPolicyArns);
  t.match(managed, /:iam::aws:policy\/AmazonSSMManagedInstanceCore/, 'the runbook opens shells with Session Manager');
  t.match(managed, /:iam::aws:policy\/AWSElasticBeanstalkWebTier/);
});

t.test("the custom service role may stream the environment's health to CloudWatch Logs", async (t) => {
  const [serviceRoleId] = serviceRole();
  const statements = roleStatements(serviceRoleId);
  t.equal(statements.length, 1);
  t.same([statements[0].Action].flat().sort(), ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
  t.match(
    JSON.stringify(statements[0].Resource),
    `log-group:/aws/elasticbeanstalk/${DEFAULT_CONFIG.environmentName}/environment-health.log:*`,
  );
  const bundleLogs = readFileSync(join(__dirname, '..', '..', '.ebextensions', '05-logs.config'), 'utf8');
  t.match(bundleLogs, /HealthStreamingEnabled: "true"/, 'the bundle turns health streaming on');
});

t.test('the Route 53 alias targets the environment, and waits for it', async (t) => {
  const [recordId] = single(web, 'AWS::Route53::RecordSet');
  t.ok(web.toJSON().Resources[recordId].DependsOn.includes(environmentId), 'DependsOn the environment');
  web.hasResourceProperties('AWS::Route53::RecordSet', {
    Name: `${DEFAULT_CONFIG.domainName}.`,
    Type: 'A',
    HostedZoneId: DEFAULT_CONFIG.hostedZoneId,
    AliasTarget: {
      DNSName: `${environment.Properties.CNAMEPrefix}.${DEFAULT_CONFIG.region}.elasticbeanstalk.com`,
      HostedZoneId: Match.stringLikeRegexp('^Z'),
    },
  });
});

t.test("the WAF web ACL has managed rule groups and a rate rule, attached to the environment's ALB", async (t) => {
  const [webAclId, webAcl] = single(web, 'AWS::WAFv2::WebACL');
  t.equal(webAcl.Properties.Scope, 'REGIONAL');
  const rules = webAcl.Properties.Rules as any[];
  t.ok(rules.some((rule) => rule.Statement.RateBasedStatement?.AggregateKeyType === 'IP'));
  const managed = rules.flatMap((rule) => rule.Statement.ManagedRuleGroupStatement ?? []);
  t.ok(managed.length >= 2);
  for (const group of managed) t.equal(group.VendorName, 'AWS');

  const [lookupId, lookup] = customResource('describeEnvironmentResources');
  t.match(JSON.stringify(lookup.Properties.Create), `{"Ref":"${environmentId}"}`);
  web.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
    ResourceArn: { 'Fn::GetAtt': [lookupId, 'EnvironmentResources.LoadBalancers.0.Name'] },
    WebACLArn: { 'Fn::GetAtt': [webAclId, 'Arn'] },
  });
});

t.test('WAF counts bodies over 8 KB instead of blocking them; the service and nginx enforce 16 KB with a JSON 413', async (t) => {
  const [, webAcl] = single(web, 'AWS::WAFv2::WebACL');
  const common = (webAcl.Properties.Rules as any[]).find(
    (rule) => rule.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet',
  );
  t.same(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides, [
    { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
  ]);
  t.same(COUNTED_MANAGED_RULES, { AWSManagedRulesCommonRuleSet: ['SizeRestrictions_BODY'] }, 'nothing else is relaxed');
  const nginx = readFileSync(join(__dirname, '..', '..', '.platform', 'nginx', 'nginx.conf'), 'utf8');
  const [, limit] = /client_max_body_size\s+(\d+)k;/.exec(nginx) ?? [];
  t.equal(Number(limit), 16, 'nginx lets 16 KB through to the service (test/bundle.test.ts ties it to BODY_LIMIT_BYTES)');
  t.match(nginx, /return 413 '\{"error":"Request body is too large","code":"PAYLOAD_TOO_LARGE"\}'/, 'larger bodies: JSON 413');
});
