import t from 'tap';
import { Match } from 'aws-cdk-lib/assertions';
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

t.test('credentials are generated and rotated by RDS in Secrets Manager; logs go to CloudWatch', async (t) => {
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
  t.equal(ingress.length, 1);
  t.same(ingress[0].Properties.GroupId, { 'Fn::GetAtt': [databaseSgId, 'GroupId'] });
  t.same(ingress[0].Properties.SourceSecurityGroupId, { 'Fn::GetAtt': [instanceSgId, 'GroupId'] });
  t.same(ingress[0].Properties.FromPort, { 'Fn::GetAtt': [single(data, 'AWS::RDS::DBInstance')[0], 'Endpoint.Port'] });
});
