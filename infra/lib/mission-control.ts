import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readAppConfig } from './config';
import { planConnections } from './connection-budget';
import { NetworkDataStack } from './data-stack';
import { OperationsStack } from './operations-stack';
import { PipelineStack } from './pipeline-stack';
import { WebStack } from './web-stack';

/** Creates every stack of the service from the app's context, with cdk-nag's AwsSolutions pack. */
export function buildMissionControl(app: App) {
  const config = readAppConfig(app);
  const env = { account: config.account, region: config.region };
  const prefix = config.stackPrefix;
  const connections = planConnections(config);

  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );

  const data = new NetworkDataStack(app, `${prefix}-NetworkData`, {
    env,
    config,
    description: 'Mission Control: VPC, instance security group, RDS PostgreSQL',
  });
  const web = new WebStack(app, `${prefix}-Web`, {
    env,
    config,
    description: 'Mission Control: Elastic Beanstalk application and environment, certificate, DNS, WAF',
    vpc: data.vpc,
    instanceSecurityGroup: data.instanceSecurityGroup,
    appSecret: data.roles.appSecret,
    migrationSecret: data.roles.migrationSecret,
    databasePoolMax: connections.poolMax,
  });
  const operations = new OperationsStack(app, `${prefix}-Operations`, {
    env,
    config,
    description: 'Mission Control: alarms, alarm topic, monthly budget',
    database: data.database,
    loadBalancer: web.loadBalancer,
    databaseMaxConnections: connections.maxConnections,
  });
  const pipeline = new PipelineStack(app, `${prefix}-Pipeline`, {
    env,
    config,
    description: 'Mission Control: CodePipeline from GitHub through CodeBuild to Elastic Beanstalk',
    applicationName: web.application.ref,
    environmentName: web.beanstalkEnvironment.ref,
    beanstalkServiceRoleArn: web.serviceRole.roleArn,
    failureTopic: operations.alarmTopic,
  });
  return { config, connections, data, web, operations, pipeline };
}
