// The Prometheus text exposition format (version 0.0.4), written by hand: families with HELP and
// TYPE, samples grouped under their family, label values escaped, histograms as cumulative
// _bucket{le} series with _sum and _count.
import type { Histogram } from './histogram.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const name in labels) parts.push(`${name}="${escapeLabelValue(labels[name])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Collects families in the order they are declared; a family's samples stay together. */
export class Exposition {
  readonly #lines: string[] = [];
  #current: string | undefined;
  readonly #declared = new Set<string>();

  /** Declares a family; every sample() until the next family() belongs to it. */
  family(name: string, type: MetricType, help: string): this {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    if (this.#declared.has(name)) throw new Error(`metric family ${name} declared twice`);
    this.#declared.add(name);
    this.#current = name;
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(labels: Labels, value: number, suffix = ''): this {
    const name = this.#name();
    for (const label in labels) if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`invalid label name ${label}`);
    this.#lines.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  histogram(labels: Labels, histogram: Histogram): this {
    const name = this.#name();
    for (const [le, count] of histogram.cumulative()) this.#lines.push(`${name}_bucket${formatLabels(labels, ['le', formatValue(le)])} ${count}`);
    this.#lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`);
    this.#lines.push(`${name}_count${formatLabels(labels)} ${histogram.count}`);
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }

  #name(): string {
    if (this.#current === undefined) throw new Error('sample before any family');
    return this.#current;
  }
}
