// The OpenTelemetry SDK side of tracing, loaded only when tracing is on (tracing.ts imports it
// dynamically), so a daemon without OTEL_* variables never loads the SDK or an exporter.
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { DEFAULT_SERVICE_NAME } from '../defaults.js';
import { hintedIdGenerator } from './trace-ids.js';

/**
 * The SDK's tracer provider, registered as the global one: the daemon's resource (service.name
 * "destinations" unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise), the sampler
 * from OTEL_TRACES_SAMPLER(_ARG), span limits from OTEL_SPAN_*, and the id generator that gives an
 * event's attempts their deterministic ids.
 */
export function registerProvider(spanProcessors: SpanProcessor[], version: string): BasicTracerProvider {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME, [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [hostDetector, envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors, idGenerator: hintedIdGenerator(new RandomIdGenerator()) });
  if (!trace.setGlobalTracerProvider(provider)) throw new Error('a global OpenTelemetry tracer provider is already registered');
  return provider;
}

/** A batch processor (OTEL_BSP_* tunable) in front of the OTLP/HTTP exporter for `protocol`; the
 *  exporter reads endpoint, headers, timeout, compression and certificates from OTEL_EXPORTER_OTLP_(TRACES_)*. */
export function otlpProcessor(protocol: 'http/protobuf' | 'http/json'): SpanProcessor {
  const exporter: SpanExporter = protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  return new BatchSpanProcessor(exporter);
}
