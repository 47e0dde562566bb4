/**
 * Per-call overhead of resolve + balance in the kit (issue 4): what `ctx.call` spends
 * choosing an instance before it sends anything. Run: npx tsx bench/discovery/call-overhead.ts
 * (BENCH_MS = time per measurement, default 600 ms; about 25 s in all).
 *
 * For N = 10, 100 and 1,000 instances of one service, in a tight loop on one core:
 *
 *   pick (p2c) / pick (round-robin)
 *       `InstancePicker.pick` itself (it was `ServiceClient.choose`) — the real code path of
 *       every attempt: catalog lookup + copy, the not-yet-tried filter, the outlier filter
 *       and the balancer's pick. The accounting's in-flight map holds every instance (at 0),
 *       as it does once each has been called.
 *   and the public pieces it composes, each alone:
 *       Catalog.instances(service)           copy of the service's instances into an array
 *       filter not tried (empty set)         `all.filter((i) => !tried.has(i.id))`
 *       OutlierDetector.available            nothing ejected / one instance ejected
 *       reference: the same filter reading the clock once per call (not kit code; what a
 *       fix of `available`, which calls Date.now() once per instance, would cost)
 *       PowerOfTwoChoices.pick, RoundRobin.pick   on a prepared array
 *
 * The catalog is the kit's real `Catalog`, fed with a snapshot event as the registry's watch
 * stream would send it (through its private `apply`; no network, `start()` is never called).
 * Time-boxed rather than counted: the O(1) pieces run millions of iterations, the O(N)
 * ones at N = 1,000 about ten thousand (each count is printed). Prints µs per call; it
 * asserts nothing about timings.
 */
import {
  CallAccounting,
  Catalog,
  createBalancer,
  type Instance,
  ManualIdentity,
  MtlsClient,
  OutlierDetector,
  PowerOfTwoChoices,
  InstancePicker,
  RoundRobin,
  type TlsMaterial,
} from '@flotilla/kit';
import { pino } from 'pino';

const MS = Number(process.env.BENCH_MS ?? 600);
const SIZES = [10, 100, 1_000];
const SERVICE = 'metadata';

// No network is used: the identity and client exist only because Catalog takes them.
const material = {
  key: '',
  cert: '',
  ca: '',
  spiffeId: 'spiffe://flotilla.local/svc/bench',
  serial: '01',
  notBefore: new Date(0),
  notAfter: new Date(Date.now() + 3_600_000),
} satisfies TlsMaterial;
const identity = new ManualIdentity('flotilla.local', material);
const mtls = new MtlsClient(identity);
const log = pino({ level: 'silent' });

let sink = 0;
/** Runs `fn` in batches for MS milliseconds (after a warm-up); µs per call. */
function time(fn: () => Instance | readonly Instance[] | undefined): { us: number; n: number } {
  const batch = 1_000;
  const run = (ms: number) => {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let k = 0; k < batch; k++) {
        const r = fn();
        sink += r === undefined ? 0 : 'length' in r ? r.length : r.port;
      }
      n += batch;
      now = performance.now();
    }
    return { us: ((now - start) * 1000) / n, n };
  };
  run(Math.min(200, MS / 3));
  return run(MS);
}

const rows: Array<{ what: string; cells: Array<{ us: number; n: number }> }> = [];
const row = (what: string) => {
  let r = rows.find((x) => x.what === what);
  if (!r) rows.push((r = { what, cells: [] }));
  return r;
};

for (const n of SIZES) {
  const instances: Instance[] = Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    service: SERVICE,
    address: '127.0.0.1',
    port: 10_000 + i,
    version: '1.0.0',
  }));
  // Other services in the catalog too, as in a fleet.
  const others: Instance[] = Array.from({ length: 50 }, (_, i) => ({
    id: crypto.randomUUID(),
    service: `svc-${i % 10}`,
    address: '127.0.0.1',
    port: 20_000 + i,
  }));
  const catalog = new Catalog(mtls, 'https://127.0.0.1:1', identity, log);
  (catalog as unknown as { apply(event: string, data: string): void }).apply(
    'snapshot',
    JSON.stringify({ instances: [...instances, ...others] }),
  );
  if (catalog.instances(SERVICE).length !== n) throw new Error('catalog was not fed');

  const tried = new Set<string>();
  for (const kind of ['p2c', 'round-robin'] as const) {
    const accounting = new CallAccounting(catalog);
    for (const i of instances) {
      accounting.attemptStarted(i);
      accounting.attemptEnded(i);
    }
    const picker = new InstancePicker(catalog, createBalancer(kind), accounting);
    row(`InstancePicker.pick (${kind})`).cells.push(time(() => picker.pick(SERVICE, tried)));
  }

  const list = catalog.instances(SERVICE);
  const inFlight = new Map(list.map((i) => [i.id, 0] as const));
  const load = (id: string) => inFlight.get(id) ?? 0;
  const outliers = new OutlierDetector();
  const oneEjected = new OutlierDetector();
  for (let k = 0; k < 3; k++) oneEjected.failure(list[0]!.id, list); // 3 failures: ejected for 1 s
  if (!oneEjected.isEjected(list[0]!.id)) throw new Error('instance was not ejected');
  const p2c = new PowerOfTwoChoices();
  const rr = new RoundRobin();

  row('  Catalog.instances(service)').cells.push(time(() => catalog.instances(SERVICE)));
  row('  filter not tried (empty set)').cells.push(time(() => list.filter((i) => !tried.has(i.id))));
  row('  OutlierDetector.available, none ejected').cells.push(time(() => outliers.available(list)));
  row('  OutlierDetector.available, one ejected').cells.push(time(() => oneEjected.available(list)));
  // Reference (not kit code): the same filter reading the clock once per call instead of per instance.
  const health = new Map<string, { ejectedUntil: number }>([
    [list[0]!.id, { ejectedUntil: Date.now() + 1_000 }],
  ]);
  row('  reference: same filter, clock read once').cells.push(
    time(() => {
      const now = Date.now();
      const live = list.filter((i) => (health.get(i.id)?.ejectedUntil ?? 0) <= now);
      return live.length > 0 ? live : [...list];
    }),
  );
  row('  PowerOfTwoChoices.pick').cells.push(time(() => p2c.pick(list, load)));
  row('  RoundRobin.pick').cells.push(time(() => rr.pick(list)));
  catalog.stop();
}
await mtls.close();

console.log(
  `node ${process.version}, one core, ${MS} ms per measurement; µs per call (iterations in brackets)`,
);
console.log(`${'instances of the service'.padEnd(42)}${SIZES.map((n) => String(n).padStart(22)).join('')}`);
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`);
const fmt = (c: { us: number; n: number }) =>
  `${c.us < 1 ? c.us.toFixed(3) : c.us.toFixed(2)} µs (${count(c.n)})`.padStart(22);
for (const r of rows) console.log(`${r.what.padEnd(42)}${r.cells.map(fmt).join('')}`);
if (sink === 0.5) console.log(''); // keeps the results alive
