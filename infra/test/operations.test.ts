import t from 'tap';
import { DEFAULT_CONFIG } from '../lib/config';
import { single, synthesize } from './synth';

const { templates } = synthesize();
const { operations } = templates;
const [topicId] = single(operations, 'AWS::SNS::Topic');
const alarms = Object.values(operations.findResources('AWS::CloudWatch::Alarm')) as any[];
const alarmByMetric = (metricName: string) =>
  alarms.filter((alarm) => JSON.stringify(alarm.Properties).includes(`"MetricName":"${metricName}"`));

t.test('every alarm notifies the topic, which e-mails the operators', async (t) => {
  t.equal(alarms.length, 6);
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
