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

export interface OperationsStackProps extends StackProps {
  readonly config: MissionControlConfig;
  readonly database: rds.DatabaseInstance;
  readonly loadBalancer: LoadBalancerLookup;
}

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

/** Alarms, their SNS topic (also used for pipeline failures) and the monthly budget. */
export class OperationsStack extends Stack {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];

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
        description: `More than ${config.databaseConnectionsAlarmThreshold} database connections for 15 minutes`,
        metric: database.metricDatabaseConnections(databasePeriod),
        threshold: config.databaseConnectionsAlarmThreshold,
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
        // No traffic or a paused metric is not an incident.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      return alarm;
    });

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
}
