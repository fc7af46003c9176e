import t from 'tap';
import { DEFAULT_CONFIG } from '../lib/config';
import { SERVICE_5XX_RATE_THRESHOLD_PERCENT, SERVICE_LATENCY_P99_THRESHOLD_MS } from '../lib/operations-stack';
import { SERVICE_NAME, SERVICE_NAMESPACE } from '../lib/service-metrics';
import { single, synthesize } from './synth';

const { templates, stacks } = synthesize();
const { operations } = templates;
const [topicId] = single(operations, 'AWS::SNS::Topic');
const alarms = Object.values(operations.findResources('AWS::CloudWatch::Alarm')) as any[];
const alarmByMetric = (metricName: string) =>
  alarms.filter((alarm) => JSON.stringify(alarm.Properties).includes(`"MetricName":"${metricName}"`));

t.test('every alarm notifies the topic, which e-mails the operators', async (t) => {
  t.equal(alarms.length, 8);
  for (const alarm of alarms) {
    t.same(alarm.Properties.AlarmActions, [{ Ref: topicId }]);
    t.same(alarm.Properties.OKActions, [{ Ref: topicId }]);
  }
  operations.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: DEFAULT_CONFIG.alarmEmail,
    TopicArn: { Ref: topicId },
  });
});

t.test('alarms cover 5xx rate, response time, unhealthy hosts and the database', async (t) => {
  for (const metric of [
    'HTTPCode_Target_5XX_Count',
    'TargetResponseTime',
    'UnHealthyHostCount',
    'CPUUtilization',
    'FreeStorageSpace',
    'DatabaseConnections',
  ]) {
    t.equal(alarmByMetric(metric).length, 1, metric);
  }
  // Load balancer metrics use the dimension derived from the looked-up ALB ARN.
  t.match(JSON.stringify(alarmByMetric('TargetResponseTime')[0]), /"Name":"LoadBalancer"/);
  t.match(JSON.stringify(alarmByMetric('UnHealthyHostCount')[0]), /"Name":"TargetGroup"/);
});

t.test('a monthly cost budget alerts by e-mail', async (t) => {
  const [, budget] = single(operations, 'AWS::Budgets::Budget');
  t.same(budget.Properties.Budget.BudgetLimit, { Amount: DEFAULT_CONFIG.monthlyBudgetUsd, Unit: 'USD' });
  t.equal(budget.Properties.Budget.TimeUnit, 'MONTHLY');
  t.equal(budget.Properties.Budget.BudgetType, 'COST');
  const notifications = budget.Properties.NotificationsWithSubscribers as any[];
  t.ok(notifications.length >= 2);
  for (const notification of notifications) {
    t.same(notification.Subscribers, [{ SubscriptionType: 'EMAIL', Address: DEFAULT_CONFIG.alarmEmail }]);
  }
});

// CloudFormation gets dimensions sorted by name.
const serviceDimensions = [
  { Name: 'Environment', Value: DEFAULT_CONFIG.environmentName },
  { Name: 'Service', Value: SERVICE_NAME },
];

t.test("the service's p99 latency alarms above 1 s for 3 of 3 five-minute periods (metrics contract)", async (t) => {
  const [alarm] = alarmByMetric('Latency');
  t.same(
    {
      Namespace: alarm.Properties.Namespace,
      Dimensions: alarm.Properties.Dimensions,
      ExtendedStatistic: alarm.Properties.ExtendedStatistic,
      Period: alarm.Properties.Period,
      Threshold: alarm.Properties.Threshold,
      ComparisonOperator: alarm.Properties.ComparisonOperator,
      EvaluationPeriods: alarm.Properties.EvaluationPeriods,
      DatapointsToAlarm: alarm.Properties.DatapointsToAlarm,
    },
    {
      Namespace: SERVICE_NAMESPACE,
      Dimensions: serviceDimensions,
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: SERVICE_LATENCY_P99_THRESHOLD_MS,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    },
  );
  t.equal(SERVICE_LATENCY_P99_THRESHOLD_MS, 1000);
});

t.test("the service's 5xx rate (ServerErrors / RequestCount) alarms above 1 % for 3 of 3 five-minute periods", async (t) => {
  const [alarm] = alarms.filter((candidate) => JSON.stringify(candidate.Properties).includes('"MetricName":"ServerErrors"'));
  const queries = alarm.Properties.Metrics as any[];
  const stat = (id: string) => queries.find((query) => query.Id === id).MetricStat;
  t.same(stat('errors'), { Metric: { Namespace: SERVICE_NAMESPACE, MetricName: 'ServerErrors', Dimensions: serviceDimensions }, Period: 300, Stat: 'Sum' });
  t.same(stat('requests'), { Metric: { Namespace: SERVICE_NAMESPACE, MetricName: 'RequestCount', Dimensions: serviceDimensions }, Period: 300, Stat: 'Sum' });
  const expression = queries.find((query) => query.Expression);
  t.equal(expression.Expression, 'IF(requests > 0, 100 * errors / requests, 0)');
  t.equal(alarm.Properties.Threshold, SERVICE_5XX_RATE_THRESHOLD_PERCENT);
  t.equal(SERVICE_5XX_RATE_THRESHOLD_PERCENT, 1);
  t.equal(alarm.Properties.EvaluationPeriods, 3);
  t.equal(alarm.Properties.DatapointsToAlarm, 3);
});

t.test('the connections alarm is 80 % of the instance class max_connections', async (t) => {
  const [alarm] = alarmByMetric('DatabaseConnections');
  t.equal(alarm.Properties.Threshold, Math.floor(0.8 * stacks.connections.maxConnections));
});

t.test('a dashboard shows the load balancer, Elastic Beanstalk, RDS and the service side by side', async (t) => {
  const [, dashboard] = single(operations, 'AWS::CloudWatch::Dashboard');
  const body = JSON.stringify(dashboard.Properties.DashboardBody);
  for (const namespace of ['AWS/ApplicationELB', 'AWS/ElasticBeanstalk', 'AWS/RDS', SERVICE_NAMESPACE]) {
    t.match(body, `\\"${namespace}\\"`, namespace);
  }
  for (const metric of ['RequestCount', 'Latency', 'ServerErrors', 'DbPoolInUse', 'DbPoolWaiting', 'SpacexSyncDuration', 'EventStreamsOpen']) {
    // Dimensions sorted by name: Environment, then Outcome for the sync, then Service.
    t.match(
      body,
      new RegExp(`\\\\"${SERVICE_NAMESPACE}\\\\",\\\\"${metric}\\\\",\\\\"Environment\\\\",\\\\"${DEFAULT_CONFIG.environmentName}\\\\",(\\\\"Outcome\\\\",\\\\"\\w+\\\\",)?\\\\"Service\\\\",\\\\"${SERVICE_NAME}\\\\"`),
      metric,
    );
  }
  t.match(body, `\\"EnvironmentHealth\\",\\"EnvironmentName\\",\\"${DEFAULT_CONFIG.environmentName}\\"`);
  t.match(body, /\\"Outcome\\",\\"success\\"/);
  t.match(body, /\\"Outcome\\",\\"failure\\"/);
  t.match(body, /alarmStatus|\\"alarms\\"/, 'the alarms at the top');
});
