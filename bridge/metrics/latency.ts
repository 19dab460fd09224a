/**
 * A latency histogram counted in plain numbers (docs/operations.md, "Metrics"): an observation is
 * a few comparisons and increments, where prom-client's own histogram hashes its labels each
 * time; prom-client writes it out at the scrape, as any histogram of its registry.
 */
import type { Histogram, MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from 'prom-client';

/** Upper bounds of the buckets, in seconds: 100 µs to 1 s, where a command's hops fall. */
const BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Counts by bucket (the last: past every bound), their sum and their count, for one label value. */
interface Series {
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with one label (`hop`), its values known in advance. */
export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly #series: Map<string, Series>;

  constructor(name: string, help: string, hops: readonly string[]) {
    this.name = name;
    this.help = help;
    this.#series = new Map(
      hops.map((hop) => [hop, { buckets: new Float64Array(BOUNDS.length + 1), sum: 0, count: 0 }]),
    );
  }

  /** Adds this histogram to `registry`, which then asks it for its values at each scrape. */
  register(registry: Registry): void {
    // The registry needs only what `get()` returns, as it gets from its own metrics.
    registry.registerMetric(this as unknown as Histogram);
  }

  /** One observation of `seconds` at `hop`. */
  observe(hop: string, seconds: number): void {
    const series = this.#series.get(hop);
    if (!series) return;
    let bucket = 0;
    while (bucket < BOUNDS.length && seconds > BOUNDS[bucket]!) bucket++;
    series.buckets[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  /** The values in prom-client's form: cumulative buckets by `le`, then the sum and the count, per hop. */
  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [hop, { buckets, sum, count }] of this.#series) {
      let cumulative = 0;
      BOUNDS.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, hop }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', hop }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { hop }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { hop }, value: count });
    }
    // prom-client's enum holds the type's name as its value.
    const type = 'histogram' as unknown as MetricType;
    return { name: this.name, help: this.help, type, aggregator: 'sum', collect: () => {}, values };
  }
}
