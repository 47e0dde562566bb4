/**
 * Added latency of the kit's mTLS (issue 3). Run: npx tsx bench/kit/mtls-latency.ts
 * (BENCH_ROUNDS, BENCH_PER_ROUND to tune; about 20 s with the defaults).
 *
 * One caller, sequential calls (concurrency 1) over one keep-alive connection, to
 * `GET /whoami` of `echoService('metadata')` (@flotilla/testing), on 127.0.0.1:
 *
 *   kit mTLS    the service started with `identity: new ManualIdentity(...)` from a TestCa,
 *               called through the kit's `MtlsClient` (client certificate, SPIFFE peer check).
 *               Each request also runs the kit's per-request work for mTLS: revocation check
 *               of the peer and the Cedar authorization of the call (FLOTILLA_ALLOWED_CALLS
 *               permits `bench-caller` → `metadata GET /whoami`, FLOTILLA_POLICY_DIR = policies).
 *   kit plain   the same service started without identity (plain HTTP), undici `Agent`.
 *   raw TLS     a bare `node:https` server (requestCert, rejectUnauthorized, same certs)
 *               answering the same JSON, called with an undici `Agent` presenting the cert.
 *   raw HTTP    a bare `node:http` server answering the same JSON.
 *
 * raw TLS − raw HTTP is what TLS itself costs per request on a warm connection; the rest
 * of (kit mTLS − kit plain) is the kit's own per-request mTLS work. The Cedar check is also
 * timed on its own, in process (an Authorizer built as the kit's ServiceAuthz builds it).
 *
 * The four variants are measured in interleaved rounds (a, b, c, d, a, b, …) so that noise
 * on a shared machine falls on all of them alike. Prints p50/p90/p99 and differences; it
 * asserts nothing about timings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualIdentity, MtlsClient, type RunningService } from '@flotilla/kit';
import {
  type AllowList,
  allowListToPolicies,
  Authorizer,
  readPolicySources,
  serviceCallRequest,
} from '@flotilla/policy';
import { echoService, TestCa } from '@flotilla/testing';
import { Agent, request } from 'undici';

const POLICY_DIR = fileURLToPath(new URL('../../policies', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 500);
const WARMUP = 2_000;
const CALLER = 'bench-caller';
const ALLOWED_CALLS = JSON.stringify({
  [CALLER]: { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] },
});

const homes: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
const tempHome = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-mtls-'));
  homes.push(dir);
  return dir;
};
const listen = (server: HttpServer) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

try {
  const ca = await TestCa.create();
  const serverMaterial = await ca.issue('metadata');
  const clientMaterial = await ca.issue(CALLER);

  // ---- the kit, with and without identity ----
  const baseEnv = { LOG_LEVEL: 'silent', FLOTILLA_POLICY_DIR: POLICY_DIR, PORT: '0', HOST: '127.0.0.1' };
  const kitMtls: RunningService = await echoService('metadata').start({
    env: { ...baseEnv, FLOTILLA_HOME: await tempHome(), FLOTILLA_ALLOWED_CALLS: ALLOWED_CALLS },
    identity: new ManualIdentity(ca.trustDomain, serverMaterial),
  });
  cleanups.push(() => kitMtls.stop());
  const kitPlain: RunningService = await echoService('metadata').start({
    env: { ...baseEnv, FLOTILLA_HOME: await tempHome() },
  });
  cleanups.push(() => kitPlain.stop());

  const callerIdentity = new ManualIdentity(ca.trustDomain, clientMaterial);
  const mtls = new MtlsClient(callerIdentity);
  cleanups.push(() => mtls.close());
  const plainAgent = new Agent({ keepAliveTimeout: 30_000 });
  cleanups.push(() => plainAgent.close());

  // ---- bare node servers: the same JSON, no framework ----
  const body = (caller: string | null) => JSON.stringify({ service: 'metadata', caller, pid: process.pid });
  const rawHttp = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body(null));
  });
  rawHttp.keepAliveTimeout = 30_000;
  const rawHttpPort = await listen(rawHttp);
  cleanups.push(() => new Promise((r) => rawHttp.close(r)));
  const rawTls = createHttpsServer(
    {
      key: serverMaterial.key,
      cert: serverMaterial.cert,
      ca: serverMaterial.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body(clientMaterial.spiffeId));
    },
  );
  rawTls.keepAliveTimeout = 30_000;
  const rawTlsPort = await listen(rawTls);
  cleanups.push(() => new Promise((r) => rawTls.close(r)));
  const tlsAgent = new Agent({
    keepAliveTimeout: 30_000,
    connect: { key: clientMaterial.key, cert: clientMaterial.cert, ca: clientMaterial.ca },
  });
  cleanups.push(() => tlsAgent.close());

  type Call = () => Promise<string>;
  const plainCall =
    (origin: string, dispatcher: Agent): Call =>
    async () => {
      const res = await request(new URL('/whoami', origin), { dispatcher });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${origin}: ${res.statusCode} ${text}`);
      return text;
    };
  const variants: Array<{ name: string; call: Call; samples: number[] }> = [
    {
      name: 'kit mTLS (MtlsClient)',
      call: async () => {
        const res = await mtls.request('metadata', kitMtls.url, { path: '/whoami' });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`kit mTLS: ${res.statusCode} ${text}`);
        return text;
      },
      samples: [],
    },
    { name: 'kit plain HTTP', call: plainCall(kitPlain.url, plainAgent), samples: [] },
    {
      name: 'raw node:https mTLS',
      call: plainCall(`https://127.0.0.1:${rawTlsPort}`, tlsAgent),
      samples: [],
    },
    { name: 'raw node:http', call: plainCall(`http://127.0.0.1:${rawHttpPort}`, plainAgent), samples: [] },
  ];

  // Sanity: the mTLS call is authorized and the caller is seen as who it is.
  const first = JSON.parse(await variants[0]!.call()) as { caller: string };
  if (first.caller !== clientMaterial.spiffeId) throw new Error(`unexpected caller ${first.caller}`);

  for (const v of variants) for (let i = 0; i < WARMUP; i++) await v.call();
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = performance.now();
        await v.call();
        v.samples.push(performance.now() - t0);
      }
    }
  }

  // ---- the Cedar check alone, as the kit's onRequest hook makes it ----
  // Built as the kit's ServiceAuthz builds it (policy directory + declared-calls permits,
  // default decision cache), through @flotilla/policy's public API.
  const sources = await readPolicySources({ dir: POLICY_DIR });
  const engine = new Authorizer(
    {
      ...sources,
      files: {
        ...sources.files,
        'declared-calls.cedar': allowListToPolicies(JSON.parse(ALLOWED_CALLS) as AllowList),
      },
    },
    { onDecision: () => undefined },
  );
  const check = () =>
    engine.decide(
      serviceCallRequest({
        callerService: CALLER,
        targetService: 'metadata',
        method: 'GET',
        routePattern: '/whoami',
        trustDomain: ca.trustDomain,
      }),
    );
  if (check().decision !== 'allow') throw new Error('policy does not allow the call');
  for (let i = 0; i < 20_000; i++) check();
  const authzN = 200_000;
  const a0 = performance.now();
  for (let i = 0; i < authzN; i++) check();
  const authzUs = ((performance.now() - a0) * 1000) / authzN;

  // ---- report ----
  const pct = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  const stats = variants.map((v) => {
    const s = [...v.samples].sort((a, b) => a - b);
    return { name: v.name, n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99) };
  });
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  console.log(
    `node ${process.version}, ${ROUNDS} interleaved rounds × ${PER_ROUND} sequential calls per variant ` +
      `(after ${WARMUP} warm-up calls each), keep-alive, 127.0.0.1`,
  );
  console.log(
    `${'variant'.padEnd(24)} ${'n'.padStart(6)} ${'p50'.padStart(10)} ${'p90'.padStart(10)} ${'p99'.padStart(10)}`,
  );
  for (const s of stats)
    console.log(
      `${s.name.padEnd(24)} ${String(s.n).padStart(6)} ${ms(s.p50).padStart(10)} ${ms(s.p90).padStart(10)} ${ms(s.p99).padStart(10)}`,
    );
  const [kitM, kitP, rawT, rawH] = stats as [
    (typeof stats)[0],
    (typeof stats)[0],
    (typeof stats)[0],
    (typeof stats)[0],
  ];
  const diff = (label: string, a: typeof kitM, b: typeof kitM) =>
    console.log(
      `${label.padEnd(48)} p50 ${ms(a.p50 - b.p50).padStart(10)}   p99 ${ms(a.p99 - b.p99).padStart(10)}`,
    );
  console.log('');
  diff("added by the kit's mTLS (kit mTLS − kit plain)", kitM, kitP);
  diff('TLS itself (raw https − raw http)', rawT, rawH);
  console.log(
    `${"the kit's own mTLS work (the difference)".padEnd(48)} p50 ${ms(kitM.p50 - kitP.p50 - (rawT.p50 - rawH.p50)).padStart(10)}   p99 ${ms(kitM.p99 - kitP.p99 - (rawT.p99 - rawH.p99)).padStart(10)}`,
  );
  console.log(
    `${'  of which the Cedar check (in process)'.padEnd(48)} ${authzUs.toFixed(2)} µs per call (decision cache hit, as in steady state)`,
  );
  console.log(
    `${'ratio kit mTLS / kit plain'.padEnd(48)} p50 ${(kitM.p50 / kitP.p50).toFixed(2)}×   p99 ${(kitM.p99 / kitP.p99).toFixed(2)}×`,
  );
  console.log(`target (issue 3): ≤ 0.2 ms added at p50`);
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const dir of homes) await rm(dir, { recursive: true, force: true });
}
