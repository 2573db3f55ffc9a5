// Tracing set-up: the daemon uses the OpenTelemetry API everywhere; the SDK and an OTLP/HTTP
// exporter are installed at start-up, configured only by the standard OTEL_* environment variables,
// and shut down (flushed, within a bound) when the daemon stops. With none of them set nothing is
// installed: the API's no-op tracer answers, spans do not record, and the per-event path skips all
// attribute work (see delivery-trace.ts).
import { diag, DiagLogLevel, trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS } from '../defaults.js';
import type { Logger } from '../log.js';
import { PACKAGE_VERSION } from '../paths.js';
import { deactivateIdHints } from './trace-ids.js';

/** The instrumentation scope of every span the daemon starts. */
export const TRACER_NAME = 'destinations';
export { PACKAGE_VERSION };

export const OTLP_PROTOCOLS = { protobuf: 'http/protobuf', json: 'http/json' } as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[keyof typeof OTLP_PROTOCOLS];

export type TracingPlan =
  | { enabled: true; protocol: OtlpProtocol }
  | { enabled: false; why: string; problem?: string };

/**
 * What the OTEL_* variables ask for. Tracing is on when an OTLP endpoint is named
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp
 * (the SDK's default endpoint, http://localhost:4318); it is off with none of them, with
 * OTEL_TRACES_EXPORTER=none and with OTEL_SDK_DISABLED=true. Only OTLP over HTTP is built in:
 * http/protobuf (the specification's default) or http/json.
 */
export function tracingPlanFromEnv(env: NodeJS.ProcessEnv = process.env): TracingPlan {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { enabled: false, why: 'OTEL_SDK_DISABLED=true' };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return { enabled: false, why: 'OTEL_TRACES_EXPORTER=none' };
  const unsupported = exporters.filter((name) => name !== 'otlp');
  if (unsupported.length > 0) {
    return { enabled: false, why: 'unsupported exporter', problem: `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: only "otlp" (or "none") is supported` };
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint && exporters.length === 0) return { enabled: false, why: 'no OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER set' };
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || OTLP_PROTOCOLS.protobuf).toLowerCase();
  if (protocol !== OTLP_PROTOCOLS.protobuf && protocol !== OTLP_PROTOCOLS.json) {
    return { enabled: false, why: 'unsupported protocol', problem: `OTLP protocol ${protocol} is not supported: use http/protobuf or http/json` };
  }
  return { enabled: true, protocol };
}

export interface TracingHandle {
  /** Flushes what is buffered and stops exporting; bounded by `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Registers the SDK's tracer provider as the global one (see tracing-sdk.ts) with these span
 * processors. Tests pass an in-memory exporter's processor; the daemon, the OTLP one.
 */
export async function installTracing(spanProcessors: SpanProcessor[]): Promise<TracingHandle> {
  const sdk = await import('./tracing-sdk.js');
  const provider = sdk.registerProvider(spanProcessors, PACKAGE_VERSION);
  let done: Promise<void> | undefined;
  return {
    shutdown(timeoutMs = DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS) {
      done ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([provider.shutdown(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        } finally {
          clearTimeout(timer);
          deactivateIdHints();
          trace.disable();
        }
      })();
      return done;
    },
  };
}

/**
 * Start-up: installs tracing when the environment asks for it (batch processor, OTEL_BSP_* tunable),
 * routes the SDK's own warnings to the daemon's log, and returns the handle to shut it down; or
 * undefined when tracing stays off.
 */
export async function startTracingFromEnv(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<TracingHandle | undefined> {
  const plan = tracingPlanFromEnv(env);
  if (!plan.enabled) {
    if (plan.problem) log.error('tracing is off', { problem: plan.problem });
    else log.debug('tracing is off', { why: plan.why });
    return undefined;
  }
  diag.setLogger(
    {
      error: (message, ...args) => log.warn(`opentelemetry: ${message}`, { details: args.map(String).join(' ').slice(0, 500) || undefined }),
      warn: (message, ...args) => log.warn(`opentelemetry: ${message}`, { details: args.map(String).join(' ').slice(0, 500) || undefined }),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const { otlpProcessor } = await import('./tracing-sdk.js');
  const handle = await installTracing([otlpProcessor(plan.protocol)]);
  log.info('tracing on', {
    protocol: plan.protocol,
    endpoint: printableEndpoint(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT),
    sampler: env.OTEL_TRACES_SAMPLER || 'parentbased_always_on',
  });
  return handle;
}

/** The endpoint without user info or query (either may carry a token). */
function printableEndpoint(endpoint: string | undefined): string {
  if (!endpoint) return '(default)';
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(unparsable)';
  }
}
