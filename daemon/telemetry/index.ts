// The telemetry area's public surface: tracing set-up and delivery spans, Prometheus metrics,
// systemd notification.
export { Histogram } from './histogram.js';
export { SyncStats } from './sync-stats.js';
export {
  RecentDeliveries,
  recentDeliveriesOf,
  statePath,
  RECENT_OUTCOMES,
  type DeliveryRedaction,
  type RecentDelivery,
  type RecentDeliveryDetail,
  type RecentDeliveryQuery,
  type RecentOutcome,
} from './recent-deliveries.js';
export { SyncHistory, type HistoryMinute, type HistoryTotals } from './sync-history.js';
export { syncHealth, SYNC_HEALTH, HEALTH_WINDOW_MINUTES, DEGRADED_FAILURE_SHARE, type SyncHealth, type SyncHealthState } from './sync-health.js';
export { Exposition, PROMETHEUS_CONTENT_TYPE, escapeLabelValue, formatValue, type Labels, type MetricType } from './prometheus.js';
export { createMetricsCollector, fetchConsumerInfo, renderMetrics, type MetricsOptions } from './daemon-metrics.js';
export {
  installTracing,
  startTracingFromEnv,
  tracingPlanFromEnv,
  OTLP_PROTOCOLS,
  PACKAGE_VERSION,
  TRACER_NAME,
  type OtlpProtocol,
  type TracingHandle,
  type TracingPlan,
} from './tracing.js';
export { DELIVERY_ATTRIBUTES, SPAN_NAMES, SyncTracer, publisherContext, type DeliveryTrace, type TracedItem, type TracedRequest } from './delivery-trace.js';
export { attemptSpanId, eventTraceId, eventTraceKey } from './trace-ids.js';
export { notifySystemd, type NotifyState } from './sd-notify.js';
export type { DaemonView, DaemonViewSource, DestinationView, SyncView } from './daemon-view.js';
