import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The service's CloudWatch metrics, written as Embedded Metric Format records to its log stream.
 * The contract shared with the service: namespace, names, units and dimension sets
 * (team note metrics.md; the service side is METRICS_ENVIRONMENT and its EMF writer).
 */
export const SERVICE_NAMESPACE = 'MissionControl';
export const SERVICE_NAME = 'mission-control';

export type ServiceMetricName =
  | 'RequestCount'
  | 'Latency'
  | 'ServerErrors'
  | 'DbPoolInUse'
  | 'DbPoolWaiting'
  | 'SpacexSyncDuration'
  | 'EventStreamsOpen';

export class ServiceMetrics {
  constructor(private readonly environmentName: string) {}

  /** A metric of the [Service, Environment] dimension set (plus `extra` dimensions, e.g. Outcome). */
  metric(
    metricName: ServiceMetricName,
    statistic: string,
    period: Duration,
    extra: Record<string, string> = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: SERVICE_NAMESPACE,
      metricName,
      statistic,
      period,
      dimensionsMap: { Service: SERVICE_NAME, Environment: this.environmentName, ...extra },
    });
  }

  /** 5xx responses as a percentage of requests; 0 without traffic (ServerErrors is 0 on other requests). */
  serverErrorRatePercent(period: Duration): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      label: 'Service 5xx (% of requests)',
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        requests: this.metric('RequestCount', 'Sum', period),
        errors: this.metric('ServerErrors', 'Sum', period),
      },
      period,
    });
  }
}
