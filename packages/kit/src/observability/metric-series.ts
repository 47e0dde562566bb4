import {
  Counter,
  type CounterConfiguration,
  Histogram,
  type HistogramConfiguration,
  type LabelValues,
} from 'prom-client';

// prom-client hashes a call's label object (sorted keys joined into a string) on every
// `inc`/`observe`: about 2 % of the gateway's CPU for four calls a request. These metrics
// resolve a series once (the caller keeps it, e.g. per route) and count into plain fields;
// the registry reads them at scrape time, so the text a scrape returns is unchanged.

/** One label set of a {@link SeriesCounter}: `inc()` adds to a plain number. */
export class CounterSeries<T extends string = string> {
  /** Counted since the last scrape, not yet in the counter. */
  pending = 0;

  constructor(readonly labels: LabelValues<T>) {}

  inc(by = 1): void {
    this.pending += by;
  }
}

/**
 * A prom-client `Counter` whose hot series count without label hashing: `series(labels)`
 * once, then `series.inc()` per event; the counts are folded into the counter when it is
 * read (`collect`). `inc(labels)` keeps working for rare events.
 *
 * @example
 * const requests = new SeriesCounter({ name: 'x_total', help: 'x', labelNames: ['route'] });
 * const home = requests.series({ route: '/' });
 * home.inc();
 */
export class SeriesCounter<T extends string = string> extends Counter<T> {
  // Not `#private`: prom-client's constructor calls `reset()` before subclass fields exist.
  private readonly seriesList: CounterSeries<T>[] = [];

  constructor(config: CounterConfiguration<T>) {
    const collect = config.collect;
    super({
      ...config,
      collect(this: Counter<T>) {
        (this as SeriesCounter<T>).fold();
        return collect?.call(this);
      },
    });
  }

  /** A new series for `labels` (callers keep it; two series of the same labels add up). */
  series(labels: LabelValues<T>): CounterSeries<T> {
    const s = new CounterSeries<T>(labels);
    this.seriesList.push(s);
    return s;
  }

  override reset(): void {
    for (const s of this.seriesList ?? []) s.pending = 0;
    super.reset();
  }

  private fold(): void {
    for (const s of this.seriesList) {
      if (s.pending === 0) continue;
      const n = s.pending;
      s.pending = 0;
      this.inc(s.labels, n);
    }
  }
}

/** One label set of a {@link SeriesHistogram}: `observe()` counts into its own buckets. */
export class HistogramSeries<T extends string = string> {
  /** Per bucket (not cumulative); the last one is above the highest bound (`+Inf`). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelValues<T>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

type PromStringValue = {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string | number>;
  value: number;
  metricName: string;
  exemplar?: null;
};
// prom-client's registry reads a metric's text through `getForPromString` when it has one
// (labels and the series' shared labels apart), and its `get()` (JSON) calls it and merges
// them: adding the series there serves both. Not in its types.
const histogramPrototype = Histogram.prototype as unknown as {
  getForPromString: (this: Histogram<string>) => Promise<{ values: PromStringValue[] }>;
};

/**
 * A prom-client `Histogram` whose hot series observe without label hashing, as
 * {@link SeriesCounter}: `series(labels)` once, `series.observe(v)` per event. Its series
 * are exported beside the ones `observe(labels, v)` made; use one way per label set.
 *
 * @example
 * const latency = new SeriesHistogram({ name: 'x_seconds', help: 'x', labelNames: ['route'], buckets: [0.1, 1] });
 * latency.series({ route: '/' }).observe(0.05);
 */
export class SeriesHistogram<T extends string = string> extends Histogram<T> {
  // Not `#private`: prom-client's constructor calls `reset()` before subclass fields exist.
  private readonly seriesList: HistogramSeries<T>[] = [];
  readonly #bounds: readonly number[];

  constructor(config: HistogramConfiguration<T>) {
    super(config);
    this.#bounds = [...((this as unknown as { upperBounds: readonly number[] }).upperBounds ?? [])];
  }

  series(labels: LabelValues<T>): HistogramSeries<T> {
    const s = new HistogramSeries<T>(labels, this.#bounds);
    this.seriesList.push(s);
    return s;
  }

  override reset(): void {
    for (const s of this.seriesList ?? []) s.reset();
    super.reset();
  }

  async getForPromString(): Promise<{ values: PromStringValue[] }> {
    const data = await histogramPrototype.getForPromString.call(this);
    data.values.push(...this.#export());
    return data;
  }

  /** prom-client's layout: cumulative buckets with `le`, `+Inf`, then `_sum` and `_count`. */
  #export(): PromStringValue[] {
    const out: PromStringValue[] = [];
    const name = (this as unknown as { name: string }).name;
    for (const s of this.seriesList) {
      if (s.count === 0) continue;
      const shared = s.labels as Record<string, string | number>;
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += s.counts[i]!;
        out.push({
          labels: { le: this.#bounds[i]! },
          sharedLabels: shared,
          value: acc,
          metricName: `${name}_bucket`,
          exemplar: null,
        });
      }
      out.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: shared,
          value: s.count,
          metricName: `${name}_bucket`,
          exemplar: null,
        },
        { labels: {}, sharedLabels: shared, value: s.sum, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: shared, value: s.count, metricName: `${name}_count` },
      );
    }
    return out;
  }
}
