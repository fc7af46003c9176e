import t from 'tap';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../lib/config';
import { APP_ROLE, MIGRATION_ROLE, ROTATION_INTERVAL } from '../lib/database-roles';
import { single, synthesize } from './synth';

const { templates } = synthesize();
const data = templates.data;
const [, database] = single(data, 'AWS::RDS::DBInstance');

t.test('the VPC spans two availability zones with public, app and isolated data subnets', async (t) => {
  const subnets = Object.values(data.findResources('AWS::EC2::Subnet')) as any[];
  t.equal(subnets.length, 6);
  const zones = new Set(subnets.map((subnet) => JSON.stringify(subnet.Properties.AvailabilityZone)));
  t.equal(zones.size, 2);
  data.resourceCountIs('AWS::EC2::FlowLog', 1);
});

t.test('the database is PostgreSQL 16, private and encrypted', async (t) => {
  t.equal(database.Properties.Engine, 'postgres');
  t.match(database.Properties.EngineVersion, /^16/);
  t.equal(database.Properties.PubliclyAccessible, false);
  t.equal(database.Properties.StorageEncrypted, true);
  // Its subnet group uses only subnets whose route tables have no route at all (isolated).
  const [, subnetGroup] = single(data, 'AWS::RDS::DBSubnetGroup');
  const routedSubnets = new Set(
    Object.values(data.findResources('AWS::EC2::SubnetRouteTableAssociation'))
      .filter((association: any) =>
        Object.values(data.findResources('AWS::EC2::Route')).some(
          (route: any) => route.Properties.RouteTableId.Ref === association.Properties.RouteTableId.Ref,
        ),
      )
      .map((association: any) => association.Properties.SubnetId.Ref),
  );
  for (const subnet of subnetGroup.Properties.SubnetIds) {
    t.notOk(routedSubnets.has(subnet.Ref), `${subnet.Ref} has no route to the internet`);
  }
});

t.test('backups, deletion protection, snapshot on removal, Multi-AZ by default', async (t) => {
  t.ok(database.Properties.BackupRetentionPeriod >= 7);
  t.equal(database.Properties.DeletionProtection, true);
  t.equal(database.DeletionPolicy, 'Snapshot');
  t.equal(database.UpdateReplacePolicy, 'Snapshot');
  t.equal(database.Properties.MultiAZ, true);
});

t.test('TLS is enforced by the parameter group', async (t) => {
  data.hasResourceProperties('AWS::RDS::DBParameterGroup', {
    Parameters: { 'rds.force_ssl': '1' },
  });
  t.same(database.Properties.DBParameterGroupName, {
    Ref: single(data, 'AWS::RDS::DBParameterGroup')[0],
  });
});

t.test('master credentials are generated and rotated by RDS in Secrets Manager; logs go to CloudWatch', async (t) => {
  t.equal(database.Properties.ManageMasterUserPassword, true);
  t.notOk(database.Properties.MasterUserPassword, 'no password in the template');
  t.same(database.Properties.EnableCloudwatchLogsExports, ['postgresql', 'upgrade']);
  data.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: Match.stringLikeRegexp('^/aws/rds/instance/.+/postgresql$'),
    RetentionInDays: Match.anyValue(),
  });
});

t.test('only the instance security group may reach the database', async (t) => {
  const [instanceSgId] = Object.entries(data.findResources('AWS::EC2::SecurityGroup')).find(
    ([, group]: [string, any]) => /web instances/.test(group.Properties.GroupDescription),
  )!;
  const [databaseSgId, databaseSg] = Object.entries(data.findResources('AWS::EC2::SecurityGroup')).find(
    ([, group]: [string, any]) => /PostgreSQL/.test(group.Properties.GroupDescription),
  )! as [string, any];
  t.notOk(databaseSg.Properties.SecurityGroupIngress, 'no inline ingress');
  t.same(database.Properties.VPCSecurityGroups, [{ 'Fn::GetAtt': [databaseSgId, 'GroupId'] }]);
  const ingress = Object.values(data.findResources('AWS::EC2::SecurityGroupIngress')) as any[];
  for (const rule of ingress) {
    t.same(rule.Properties.GroupId, { 'Fn::GetAtt': [databaseSgId, 'GroupId'] });
    t.same(rule.Properties.FromPort, { 'Fn::GetAtt': [single(data, 'AWS::RDS::DBInstance')[0], 'Endpoint.Port'] });
  }
  // The web instances, the roles function and the two rotation functions.
  const sources = ingress.map((rule) => JSON.stringify(rule.Properties.SourceSecurityGroupId));
  t.equal(ingress.length, 4);
  t.ok(sources.includes(JSON.stringify({ 'Fn::GetAtt': [instanceSgId, 'GroupId'] })));
  t.equal(sources.filter((source) => /Roles(Function|MigrationSecretRotation|AppSecretRotation)/.test(source)).length, 3);
});

const [databaseId] = single(data, 'AWS::RDS::DBInstance');
const secrets = data.findResources('AWS::SecretsManager::Secret');
const attachments = Object.entries(data.findResources('AWS::SecretsManager::SecretTargetAttachment')) as [string, any][];
const roleSecret = (username: string) => {
  const [secretId, secret] = Object.entries(secrets).find(([, candidate]: [string, any]) =>
    candidate.Properties.GenerateSecretString?.SecretStringTemplate?.includes(`"username":"${username}"`),
  )! as [string, any];
  const [attachmentId] = attachments.find(([, attachment]) => attachment.Properties.SecretId.Ref === secretId)!;
  return { secretId, secret, attachmentId };
};
const [rolesId, roles] = single(data, 'Custom::DatabaseRoles');

t.test('the migration and app roles each have their own secret, attached to the instance (host, port, dbname)', async (t) => {
  for (const username of [MIGRATION_ROLE, APP_ROLE]) {
    const { secret, attachmentId } = roleSecret(username);
    t.same(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate), {
      username,
      dbname: DEFAULT_CONFIG.databaseName,
    });
    t.same(data.toJSON().Resources[attachmentId].Properties.TargetId, { Ref: databaseId });
  }
  t.same(roles.Properties.MigrationSecretArn, { Ref: roleSecret(MIGRATION_ROLE).attachmentId });
  t.same(roles.Properties.AppSecretArn, { Ref: roleSecret(APP_ROLE).attachmentId });
  t.same(roles.Properties.MasterSecretArn, { 'Fn::GetAtt': [databaseId, 'MasterUserSecret.SecretArn'] });
  t.same(roles.Properties.Host, { 'Fn::GetAtt': [databaseId, 'Endpoint.Address'] });
  t.equal(roles.Properties.DatabaseName, DEFAULT_CONFIG.databaseName);
  t.match(roles.Properties.Statements, /^[0-9a-f]{16}$/, 'a digest of the statements, so changing them runs them again');
});

t.test('the roles function runs in the VPC, verifies TLS against the runtime CA bundle, and reads only its three secrets', async (t) => {
  const functions = Object.entries(data.findResources('AWS::Lambda::Function')) as [string, any][];
  const [functionId, fn] = functions.find(([, candidate]) => candidate.Properties.Environment?.Variables?.DATABASE_SSL_CA_FILE)!;
  t.equal(fn.Properties.Environment.Variables.DATABASE_SSL_CA_FILE, '/var/runtime/ca-cert.pem');
  t.match(fn.Properties.Runtime, /^nodejs2[24]\.x$/);
  for (const subnet of fn.Properties.VpcConfig.SubnetIds) t.match(subnet.Ref, /^Vpcapp/, 'app subnets: database and NAT');
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(data.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
  const readable = statements
    .filter((statement: any) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'))
    .flatMap((statement: any) => [statement.Resource].flat());
  t.same(
    readable.map((resource: unknown) => JSON.stringify(resource)).sort(),
    [
      { 'Fn::GetAtt': [databaseId, 'MasterUserSecret.SecretArn'] },
      { Ref: roleSecret(MIGRATION_ROLE).attachmentId },
      { Ref: roleSecret(APP_ROLE).attachmentId },
    ].map((resource) => JSON.stringify(resource)).sort(),
  );
  // Nothing else in any stack reads the master secret (the web stack test checks the instance role).
  const masterReaders = Object.values(data.findResources('AWS::IAM::Policy')).filter((policy: any) =>
    JSON.stringify(policy.Properties.PolicyDocument).includes('MasterUserSecret.SecretArn'),
  ) as any[];
  t.same(masterReaders.flatMap((policy) => policy.Properties.Roles), [{ Ref: roleId }]);
  t.ok(functionId);
});

t.test('both role secrets rotate (single user, every 30 days) once the roles exist', async (t) => {
  const schedules = Object.entries(data.findResources('AWS::SecretsManager::RotationSchedule')) as [string, any][];
  const rotated = schedules.map(([, schedule]) => JSON.stringify(schedule.Properties.SecretId));
  t.same(rotated.sort(), [roleSecret(MIGRATION_ROLE).attachmentId, roleSecret(APP_ROLE).attachmentId].map((id) => JSON.stringify({ Ref: id })).sort());
  for (const [, schedule] of schedules) {
    t.same(schedule.Properties.RotationRules, { ScheduleExpression: `rate(${ROTATION_INTERVAL.toDays()} days)` });
    t.ok(schedule.DependsOn.includes(rolesId), 'after the custom resource created the role');
  }
  const applications = Object.values(data.findResources('AWS::Serverless::Application')) as any[];
  t.equal(applications.length, 2);
  const mappings = data.toJSON().Mappings;
  for (const application of applications) {
    const [mappingId] = application.Properties.Location.ApplicationId['Fn::FindInMap'];
    t.match(mappings[mappingId].aws.applicationId, /:applications\/SecretsManagerRDSPostgreSQLRotationSingleUser$/);
  }
});
