import { Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { MissionControlConfig } from './config';
import type { LoadBalancerLookup } from './load-balancer-lookup';
import { ServiceMetrics } from './service-metrics';

export interface OperationsStackProps extends StackProps {
  readonly config: MissionControlConfig;
  readonly database: rds.DatabaseInstance;
  readonly loadBalancer: LoadBalancerLookup;
  /** The database's max_connections (lib/connection-budget.ts); the connections alarm is a share of it. */
  readonly databaseMaxConnections: number;
}

/** Service alarms (team note metrics.md): p99 latency over 1 s, 5xx over 1 %, 3 of 3 five-minute periods. */
export const SERVICE_LATENCY_P99_THRESHOLD_MS = 1000;
export const SERVICE_5XX_RATE_THRESHOLD_PERCENT = 1;
const SERVICE_ALARM_PERIOD = Duration.minutes(5);
const SERVICE_ALARM_PERIODS = 3;

const GIB = 1024 ** 3;

interface AlarmSpec {
  readonly id: string;
  readonly description: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  /** Consecutive periods over the threshold before the alarm fires. */
  readonly periods: number;
}

/** Alarms, their SNS topic (also used for pipeline failures), a dashboard and the monthly budget. */
export class OperationsStack extends Stack {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { config, database, loadBalancer } = props;

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Mission Control alarms',
      enforceSSL: true,
    });
    this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Notices carry no secrets; a KMS key would need grants for CloudWatch and CodeStar Notifications.',
    });

    const loadBalancerMetric = (metricName: string, statistic: string, extraDimensions = {}) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApplicationELB',
        metricName,
        statistic,
        period: Duration.minutes(1),
        dimensionsMap: { LoadBalancer: loadBalancer.loadBalancerMetricDimension, ...extraDimensions },
      });
    const errorRatePercent = new cloudwatch.MathExpression({
      label: '5xx responses (% of requests)',
      expression: 'IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)',
      usingMetrics: {
        requests: loadBalancerMetric('RequestCount', 'Sum'),
        target5xx: loadBalancerMetric('HTTPCode_Target_5XX_Count', 'Sum'),
        elb5xx: loadBalancerMetric('HTTPCode_ELB_5XX_Count', 'Sum'),
      },
      period: Duration.minutes(1),
    });
    const databasePeriod = { period: Duration.minutes(5) };
    const service = new ServiceMetrics(config.environmentName);
    const connectionsThreshold =
      config.databaseConnectionsAlarmThreshold ?? Math.floor(0.8 * props.databaseMaxConnections);

    const specs: AlarmSpec[] = [
      {
        id: 'Http5xxRate',
        description: 'More than 5% of requests answered 5xx for 5 minutes',
        metric: errorRatePercent,
        threshold: 5,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: 5,
      },
      {
        id: 'ResponseTimeP95',
        description: 'p95 target response time above 1.5 s for 5 minutes',
        metric: loadBalancerMetric('TargetResponseTime', 'p95'),
        threshold: 1.5,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: 5,
      },
      {
        id: 'UnhealthyHosts',
        description: 'At least one instance failed the /health check for 5 minutes',
        metric: loadBalancerMetric('UnHealthyHostCount', 'Maximum', {
          TargetGroup: loadBalancer.targetGroupMetricDimension,
        }),
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        periods: 5,
      },
      {
        id: 'ServiceLatencyP99',
        description: `Service p99 latency above ${SERVICE_LATENCY_P99_THRESHOLD_MS} ms for 15 minutes (its own EMF metric)`,
        metric: service.metric('Latency', 'p99', SERVICE_ALARM_PERIOD),
        threshold: SERVICE_LATENCY_P99_THRESHOLD_MS,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: SERVICE_ALARM_PERIODS,
      },
      {
        id: 'Service5xxRate',
        description: `More than ${SERVICE_5XX_RATE_THRESHOLD_PERCENT}% of requests answered 5xx by the service for 15 minutes`,
        metric: service.serverErrorRatePercent(SERVICE_ALARM_PERIOD),
        threshold: SERVICE_5XX_RATE_THRESHOLD_PERCENT,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: SERVICE_ALARM_PERIODS,
      },
      {
        id: 'DatabaseCpu',
        description: 'Database CPU above 80% for 15 minutes',
        metric: database.metricCPUUtilization(databasePeriod),
        threshold: 80,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: 3,
      },
      {
        id: 'DatabaseFreeStorage',
        description: 'Database free storage below 10% of the allocated size',
        metric: database.metricFreeStorageSpace(databasePeriod),
        threshold: 0.1 * config.databaseAllocatedStorageGiB * GIB,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods: 2,
      },
      {
        id: 'DatabaseConnections',
        description: `More than ${connectionsThreshold} database connections (of ${props.databaseMaxConnections}) for 15 minutes`,
        metric: database.metricDatabaseConnections(databasePeriod),
        threshold: connectionsThreshold,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: 3,
      },
    ];
    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);
    this.alarms = specs.map((spec) => {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        alarmDescription: spec.description,
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: spec.periods,
        datapointsToAlarm: spec.periods,
        // No traffic or a paused metric is not an incident.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      return alarm;
    });

    this.dashboard = this.buildDashboard(props, service, loadBalancerMetric, connectionsThreshold);

    const emailAt = (
      notificationType: 'ACTUAL' | 'FORECASTED',
      percent: number,
    ): budgets.CfnBudget.NotificationWithSubscribersProperty => ({
      notification: {
        notificationType,
        comparisonOperator: 'GREATER_THAN',
        threshold: percent,
        thresholdType: 'PERCENTAGE',
      },
      subscribers: [{ subscriptionType: 'EMAIL', address: config.alarmEmail }],
    });
    new budgets.CfnBudget(this, 'MonthlyBudget', {
      budget: {
        budgetName: `${config.stackPrefix}-monthly`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: config.monthlyBudgetUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: [
        emailAt('ACTUAL', 80),
        emailAt('ACTUAL', 100),
        emailAt('FORECASTED', 100),
      ],
    });
  }

  /** ALB, Elastic Beanstalk, RDS and the service's own metrics side by side, one row per question. */
  private buildDashboard(
    props: OperationsStackProps,
    service: ServiceMetrics,
    loadBalancerMetric: (metricName: string, statistic: string, extraDimensions?: Record<string, string>) => cloudwatch.Metric,
    connectionsThreshold: number,
  ): cloudwatch.Dashboard {
    const { config, database, loadBalancer } = props;
    const minute = Duration.minutes(1);
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 6, height: 6, ...extra });
    const environmentHealth = new cloudwatch.Metric({
      namespace: 'AWS/ElasticBeanstalk',
      metricName: 'EnvironmentHealth',
      statistic: 'Maximum',
      period: minute,
      dimensionsMap: { EnvironmentName: config.environmentName },
    });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.stackPrefix}-${config.environmentName}`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    dashboard.addWidgets(
      graph('Requests: load balancer', [loadBalancerMetric('RequestCount', 'Sum')]),
      graph('Requests: service', [service.metric('RequestCount', 'Sum', minute)]),
      graph('5xx: load balancer', [
        loadBalancerMetric('HTTPCode_Target_5XX_Count', 'Sum'),
        loadBalancerMetric('HTTPCode_ELB_5XX_Count', 'Sum'),
      ]),
      graph('5xx: service', [service.serverErrorRatePercent(minute)], {
        leftAnnotations: [{ value: SERVICE_5XX_RATE_THRESHOLD_PERCENT, label: 'alarm' }],
      }),
    );
    dashboard.addWidgets(
      graph('Latency p99: load balancer (s)', [loadBalancerMetric('TargetResponseTime', 'p99')]),
      graph('Latency p50 / p99: service (ms)', [
        service.metric('Latency', 'p50', minute),
        service.metric('Latency', 'p99', minute),
      ], { leftAnnotations: [{ value: SERVICE_LATENCY_P99_THRESHOLD_MS, label: 'p99 alarm' }] }),
      graph('Environment health (0 ok … 25 severe)', [environmentHealth]),
      graph('Unhealthy instances', [
        loadBalancerMetric('UnHealthyHostCount', 'Maximum', { TargetGroup: loadBalancer.targetGroupMetricDimension }),
      ]),
    );
    dashboard.addWidgets(
      graph('Database connections', [database.metricDatabaseConnections({ period: minute })], {
        leftAnnotations: [{ value: connectionsThreshold, label: 'alarm' }],
      }),
      graph('Pool in use / waiting: service', [
        service.metric('DbPoolInUse', 'Maximum', minute),
        service.metric('DbPoolWaiting', 'Maximum', minute),
      ]),
      graph('Database CPU (%)', [database.metricCPUUtilization({ period: minute })]),
      graph('Database free storage (bytes)', [database.metricFreeStorageSpace({ period: minute })]),
    );
    dashboard.addWidgets(
      graph('SpaceX sync duration (ms)', ['success', 'failure'].map((outcome) =>
        service.metric('SpacexSyncDuration', 'Maximum', Duration.minutes(5), { Outcome: outcome }),
      )),
      graph('SpaceX syncs', ['success', 'failure'].map((outcome) =>
        service.metric('SpacexSyncDuration', 'SampleCount', Duration.minutes(5), { Outcome: outcome }),
      )),
      graph('Open event streams', [service.metric('EventStreamsOpen', 'Maximum', minute)]),
      graph('Database read / write latency (s)', [
        database.metric('ReadLatency', { period: minute }),
        database.metric('WriteLatency', { period: minute }),
      ]),
    );
    return dashboard;
  }
}
