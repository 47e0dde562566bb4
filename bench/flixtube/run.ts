// FlixTube streaming through the gateway against reading the same object from storage
// directly, in the same run: MB/s for a whole-file read, and p50/p99 time to first byte of
// a 1 MiB range in the middle (a seek). See README.md.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnService, type ServiceProcess } from '@flotilla/testing';
import { Agent, request } from 'undici';
import { startStreamFleet } from '@flixtube/video-streaming/test-fleet';

const MIB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '100' },
    seeks: { type: 'string', default: '200' },
    reads: { type: 'string', default: '3' },
  },
});
const SIZE = Number(values.size) * MIB;
const SEEKS = Number(values.seeks);
const READS = Number(values.reads);
const GATEWAY_MAIN = createRequire(import.meta.url).resolve('@flotilla/gateway/main');

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

/** Reads a body to its end; the ms to its first byte and to its end. */
async function drain(
  body: AsyncIterable<Buffer>,
  t0: number,
): Promise<{ ttfb: number; total: number; bytes: number }> {
  let ttfb = -1;
  let bytes = 0;
  for await (const chunk of body) {
    if (ttfb < 0) ttfb = performance.now() - t0;
    bytes += chunk.length;
  }
  return { ttfb, total: performance.now() - t0, bytes };
}

const f = await startStreamFleet({});
let gateway: ServiceProcess | undefined;
let agent: Agent | undefined;
try {
  // One video of SIZE bytes, written in 1 MiB pieces of random data.
  const block = randomBytes(MIB);
  const videoId = await f.video(Buffer.alloc(1), 'bench');
  await f.uploader.put(
    'videos',
    videoId,
    (async function* () {
      for (let done = 0; done < SIZE; done += MIB) yield block;
    })(),
    { contentType: 'video/mp4', contentLength: SIZE },
  );
  const routes = join(f.home, 'routes.json');
  await writeFile(
    routes,
    JSON.stringify({
      routes: [
        {
          method: 'GET',
          path: '/api/videos/:id/stream',
          service: 'video-streaming',
          upstreamPath: '/videos/:id/stream',
          auth: 'public',
        },
      ],
    }),
  );
  const env = await f.joined('gateway');
  gateway = await spawnService(GATEWAY_MAIN, {
    ...env,
    FLOTILLA_HOME: join(f.home, 'gateway'),
    FLOTILLA_CA_BUNDLE_FILE: f.control.bundleFile ?? join(f.home, 'ca.pem'),
    GATEWAY_ROUTES_FILE: routes,
    TLS_PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: '',
    LOG_LEVEL: 'warn',
    NODE_OPTIONS: '--max-semi-space-size=1',
  });
  agent = new Agent({ connect: { ca: f.control.bundle().roots.join('\n') } });
  const alice = await f.person('alice-bench');
  const ticket = await f.call('video-streaming', 'POST', `/videos/${videoId}/stream-token`, {
    authorization: `Bearer ${alice}`,
  });
  const url = `${gateway.url}${(ticket.json() as { url: string }).url}`;
  const viaGateway = async (range?: string) => {
    const t0 = performance.now();
    const res = await request(url, { dispatcher: agent, headers: range ? { range } : {} });
    if (res.statusCode !== (range ? 206 : 200)) throw new Error(`gateway answered ${res.statusCode}`);
    return drain(res.body, t0);
  };
  const direct = async (range?: { start: number; end: number }) => {
    const t0 = performance.now();
    const res = await f.streamer.get('videos', videoId, range ? { range } : {});
    return drain(res.body, t0);
  };
  const mid = Math.floor(SIZE / 2);
  const seek = { start: mid, end: mid + MIB - 1 };
  // Warm both paths (connections, JIT, decrypted data keys).
  await viaGateway(`bytes=${seek.start}-${seek.end}`);
  await direct(seek);

  const whole = { gateway: [] as number[], direct: [] as number[] };
  for (let i = 0; i < READS; i++) {
    const g = await viaGateway();
    const d = await direct();
    if (g.bytes !== SIZE || d.bytes !== SIZE) throw new Error('a whole read came short');
    whole.gateway.push(mbps(SIZE, g.total));
    whole.direct.push(mbps(SIZE, d.total));
  }
  const ttfb = { gateway: [] as number[], direct: [] as number[] };
  for (let i = 0; i < SEEKS; i++) {
    ttfb.gateway.push((await viaGateway(`bytes=${seek.start}-${seek.end}`)).ttfb);
    ttfb.direct.push((await direct(seek)).ttfb);
  }
  const best = (xs: number[]) => Math.max(...xs);
  const row = (what: string, g: string, d: string, ratio: string) =>
    console.log(`${what.padEnd(28)} ${g.padStart(14)} ${d.padStart(14)} ${ratio.padStart(8)}`);
  console.log(`video ${values.size} MiB, ${READS} whole reads, ${SEEKS} seeks of 1 MiB at ${mid}`);
  row('', 'gateway', 'direct', 'ratio');
  row(
    'whole file MB/s (best)',
    best(whole.gateway).toFixed(0),
    best(whole.direct).toFixed(0),
    (best(whole.gateway) / best(whole.direct)).toFixed(2),
  );
  for (const p of [50, 99])
    row(
      `seek TTFB p${p} ms`,
      pct(ttfb.gateway, p).toFixed(1),
      pct(ttfb.direct, p).toFixed(1),
      (pct(ttfb.gateway, p) / pct(ttfb.direct, p)).toFixed(2),
    );
  console.log(
    `targets: whole-file gateway/direct >= 0.7 (${best(whole.gateway) / best(whole.direct) >= 0.7 ? 'met' : 'NOT met'}), seek TTFB p50 <= 20 ms (${pct(ttfb.gateway, 50) <= 20 ? 'met' : 'NOT met'})`,
  );
} finally {
  await agent?.close();
  await gateway?.kill('SIGTERM');
  await f.close();
}
