import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../lib/config';
import { DATABASE_SSL_CA_FILE } from '../lib/web-stack';
import { environmentOptions, exportedValue, single, synthesize } from './synth';

const { templates } = synthesize();
const { data, web } = templates;
const options = environmentOptions(web);
const [certificateId, certificate] = single(web, 'AWS::CertificateManager::Certificate');
const [environmentId, environment] = single(web, 'AWS::ElasticBeanstalk::Environment');
const [, dbInstance] = single(data, 'AWS::RDS::DBInstance');
const databaseId = single(data, 'AWS::RDS::DBInstance')[0];
const secretArn = { 'Fn::GetAtt': [databaseId, 'MasterUserSecret.SecretArn'] };

t.test('the environment runs the configured Node.js on Amazon Linux 2023 platform', async (t) => {
  t.equal(environment.Properties.SolutionStackName, DEFAULT_CONFIG.solutionStackName);
  t.match(environment.Properties.SolutionStackName, /Amazon Linux 2023 .* Node\.js 22/);
  t.equal(environment.Properties.CNAMEPrefix, DEFAULT_CONFIG.environmentName);
  t.notOk(environment.Properties.VersionLabel, 'the pipeline owns application versions');
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

t.test("the secret's ARN and the endpoint reach the environment, never the password", async (t) => {
  const env = (name: string) => options.get(`aws:elasticbeanstalk:application:environment/${name}`);
  t.same(exportedValue(data, env('DATABASE_SECRET_ID')), secretArn);
  t.same(exportedValue(data, env('DATABASE_HOST')), { 'Fn::GetAtt': [databaseId, 'Endpoint.Address'] });
  t.same(exportedValue(data, env('DATABASE_PORT')), { 'Fn::GetAtt': [databaseId, 'Endpoint.Port'] });
  t.equal(env('DATABASE_NAME'), dbInstance.Properties.DBName);
  t.equal(env('DATABASE_SSL_CA_FILE'), DATABASE_SSL_CA_FILE);
  t.equal(env('AWS_REGION'), DEFAULT_CONFIG.region);
  const names = [...options.keys()]
    .filter((key) => key.startsWith('aws:elasticbeanstalk:application:environment/'))
    .map((key) => key.split('/')[1]);
  t.same(names.sort(), [
    'AWS_REGION', 'DATABASE_HOST', 'DATABASE_NAME', 'DATABASE_PORT', 'DATABASE_SECRET_ID', 'DATABASE_SSL_CA_FILE',
  ]);
  t.notMatch(JSON.stringify(environment), /password/i);
});

t.test('the instance role reads only the database secret', async (t) => {
  const [instanceRoleId] = Object.entries(web.findResources('AWS::IAM::Role')).find(([, role]: [string, any]) =>
    JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'),
  )!;
  const statements = Object.values(web.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === instanceRoleId))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
  const secretStatements = statements.filter((statement: any) =>
    [statement.Action].flat().some((action: string) => action.startsWith('secretsmanager:')),
  );
  t.equal(secretStatements.length, 1);
  t.same([secretStatements[0].Action].flat().sort(), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  t.same(exportedValue(data, secretStatements[0].Resource), secretArn);
  t.equal(statements.length, 1, 'no other inline permission');
});

t.test('the Route 53 alias targets the environment', async () => {
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

  const [lookupId, lookup] = Object.entries(web.findResources('Custom::AWS')).find(([, resource]: [string, any]) =>
    JSON.stringify(resource.Properties.Create).includes('describeEnvironmentResources'),
  )! as [string, any];
  t.match(JSON.stringify(lookup.Properties.Create), `{"Ref":"${environmentId}"}`);
  web.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
    ResourceArn: { 'Fn::GetAtt': [lookupId, 'EnvironmentResources.LoadBalancers.0.Name'] },
    WebACLArn: { 'Fn::GetAtt': [webAclId, 'Arn'] },
  });
});
