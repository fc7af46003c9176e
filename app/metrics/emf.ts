// CloudWatch Embedded Metric Format: a log event that is one JSON object whose `_aws` member tells
// CloudWatch Logs which of its top-level members are metrics, with which units and dimensions.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

export type Unit = 'Count' | 'Milliseconds'

export interface MetricDirective {
  /** Each set is one combination of dimension names the metrics are published under. */
  dimensionSets: string[][]
  metrics: Record<string, Unit>
}

/**
 * The most values one metric may carry in a record (the EMF limit). CloudWatch keeps each value,
 * so percentiles over an array are exact.
 */
export const MAX_VALUES_PER_METRIC = 100

/** One EMF record as a single line of JSON. */
export function emfRecord(
  namespace: string,
  directives: MetricDirective[],
  members: Record<string, string | number | number[]>,
  timestamp = Date.now()
): string {
  const CloudWatchMetrics = directives.map(({ dimensionSets, metrics }) => ({
    Namespace: namespace,
    Dimensions: dimensionSets,
    Metrics: Object.entries(metrics).map(([Name, Unit]) => ({ Name, Unit }))
  }))
  return JSON.stringify({ _aws: { Timestamp: timestamp, CloudWatchMetrics }, ...members })
}
