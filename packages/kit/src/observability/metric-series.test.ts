import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from './metric-series.js';

const buckets = [0.001, 0.01, 0.1, 1];

function registries() {
  const plain = new Registry();
  const series = new Registry();
  for (const r of [plain, series]) r.setDefaultLabels({ service: 'svc' });
  return { plain, series };
}

describe('SeriesCounter', () => {
  it('scrapes as the same prom-client Counter counted label by label', async () => {
    const { plain, series } = registries();
    const config = { name: 't_total', help: 'h', labelNames: ['route', 'status'] as const };
    const a = new Counter({ ...config, registers: [plain] });
    const b = new SeriesCounter({ ...config, registers: [series] });
    const ok = b.series({ route: '/a', status: '200' });
    const bad = b.series({ route: '/a', status: '500' });
    for (let i = 0; i < 5; i++) {
      a.inc({ route: '/a', status: '200' });
      ok.inc();
    }
    a.inc({ route: '/a', status: '500' }, 3);
    bad.inc(3);
    // The label-object API still counts, into the same series.
    a.inc({ route: '/b', status: '200' });
    b.inc({ route: '/b', status: '200' });
    // Series are folded in at the scrape, so lines may come in another order.
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort();
    expect(await lines(series)).toEqual(await lines(plain));
    expect(await series.metrics()).toMatch(/t_total\{route="\/a",status="200",service="svc"\} 5/);
    const sorted = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: [...m.values].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      }));
    expect(await sorted(series)).toEqual(await sorted(plain));
  });

  it('keeps counting across scrapes (folded counts are not counted twice)', async () => {
    const r = new Registry();
    const c = new SeriesCounter({ name: 'n_total', help: 'h', labelNames: ['k'] as const, registers: [r] });
    const s = c.series({ k: 'x' });
    s.inc();
    await r.metrics();
    s.inc(2);
    expect(await r.metrics()).toMatch(/n_total\{k="x"\} 3\n/);
    expect(await r.metrics()).toMatch(/n_total\{k="x"\} 3\n/);
  });

  it('runs a collect function given in its configuration, and reset clears pending counts', async () => {
    const r = new Registry();
    let collected = 0;
    const c = new SeriesCounter({
      name: 'c_total',
      help: 'h',
      labelNames: ['k'] as const,
      registers: [r],
      collect() {
        collected++;
      },
    });
    const s = c.series({ k: 'x' });
    s.inc(4);
    r.resetMetrics();
    expect(await r.metrics()).not.toMatch(/c_total\{/);
    expect(collected).toBe(1);
  });
});

describe('SeriesHistogram', () => {
  it('scrapes as the same prom-client Histogram observed label by label (bounds are inclusive)', async () => {
    const { plain, series } = registries();
    const config = { name: 'd_seconds', help: 'h', labelNames: ['method', 'route'] as const, buckets };
    const a = new Histogram({ ...config, registers: [plain] });
    const b = new SeriesHistogram({ ...config, registers: [series] });
    const get = b.series({ method: 'GET', route: '/x' });
    const post = b.series({ method: 'POST', route: '/x' });
    b.series({ method: 'PUT', route: '/never' }); // never observed: not exported, as prom-client
    const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 1, 1.5, 100];
    for (const v of values) {
      a.observe({ method: 'GET', route: '/x' }, v);
      get.observe(v);
    }
    a.observe({ method: 'POST', route: '/x' }, 0.2);
    post.observe(0.2);
    const text = await series.metrics();
    expect(text).toBe(await plain.metrics());
    expect(text).toMatch(/d_seconds_bucket\{le="0.001",service="svc",method="GET",route="\/x"\} 3\n/);
    expect(text).toMatch(/d_seconds_bucket\{le="\+Inf",service="svc",method="GET",route="\/x"\} 9\n/);
    expect(text).toMatch(/d_seconds_count\{service="svc",method="GET",route="\/x"\} 9\n/);
    expect(await series.getMetricsAsJSON()).toEqual(await plain.getMetricsAsJSON());
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const h = new SeriesHistogram({ name: 'e_seconds', help: 'h', labelNames: ['k'] as const, buckets });
    expect(() => h.series({ k: 'x' }).observe(Number.NaN)).toThrow(TypeError);
  });

  it('reset empties the series', async () => {
    const r = new Registry();
    const h = new SeriesHistogram({
      name: 'f_seconds',
      help: 'h',
      labelNames: ['k'] as const,
      buckets,
      registers: [r],
    });
    h.series({ k: 'x' }).observe(0.5);
    r.resetMetrics();
    expect(await r.metrics()).not.toMatch(/f_seconds_count/);
  });
});
