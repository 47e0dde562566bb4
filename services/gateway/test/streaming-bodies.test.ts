// Issue 16: request and response bodies stream through the gateway and the kit's client with
// bounded memory. 256 MiB go up through the gateway (its own process, so that its RSS is its
// own) to a service on the kit over discovery and mTLS, which counts and hashes what arrives
// without keeping it; 256 MiB come down the same way. The gateway's RSS (VmRSS) may grow by
// less than 64 MB over each transfer: a body read whole would add its 256 MiB.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defineService, type RunningService } from '@flotilla/kit';
import { type RunningControl, startControl } from '@flotilla/control';
import { joinToken, type ServiceProcess, spawnService } from '@flotilla/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const POLICY_DIR = new URL('../../../policies', import.meta.url).pathname;
const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
/** The bound on the gateway's RSS growth over one transfer. */
const RSS_GROWTH_MAX = 64 * 1000 * 1000;

/** One random MiB; each chunk sent is a copy with its index in front (order and loss show in the hash). */
const BLOCK = randomBytes(MiB);

/** `total` bytes of the pattern, made as they are read and hashed on the way; `sent` once all went out. */
function pattern(total: number, onChunk?: (made: number) => void) {
  const hash = createHash('sha256');
  let made = 0;
  let index = 0;
  const sent = { sha256: '', bytes: 0 };
  const stream = new Readable({
    read() {
      if (made >= total) {
        sent.sha256 = hash.digest('hex');
        sent.bytes = made;
        return void this.push(null);
      }
      const chunk = Buffer.from(BLOCK.subarray(0, Math.min(MiB, total - made)));
      chunk.writeUInt32BE(index++, 0);
      made += chunk.length;
      hash.update(chunk);
      this.push(chunk);
      onChunk?.(made);
    },
  });
  return { stream, sent };
}

/** Counts and hashes a stream, keeping nothing of it. */
async function digest(body: AsyncIterable<Buffer>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** The service on the kit: `POST /upload` hashes what it receives, `GET /download?bytes=` sends the pattern. */
const sink = defineService({
  name: 'sink',
  routes(app) {
    // The body is consumed as it arrives, never buffered: only its count and hash are kept.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
      digest(payload as AsyncIterable<Buffer>).then(
        (d) => done(null, d),
        (err: Error) => {
          uploadsCut++;
          done(err, undefined);
        },
      );
    });
    app.post('/upload', async (req) => req.body);
    app.get('/download', async (req, reply) => {
      const bytes = Number((req.query as { bytes?: string }).bytes ?? 0);
      const { stream, sent } = pattern(bytes);
      stream.on('end', () => (lastDownload = sent));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(bytes))
        .send(stream);
    });
  },
});
let lastDownload: { sha256: string; bytes: number } | undefined;
/** Uploads whose body stopped before its end (the gateway cancelled the call). */
let uploadsCut = 0;

/** The gateway's resident set size, from /proc (kB there). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** Runs `transfer` while sampling the gateway's RSS; the growth from before it to its peak. */
async function rssGrowthDuring<T>(
  pid: number,
  transfer: () => Promise<T>,
): Promise<{ result: T; growth: number }> {
  const before = await rssOf(pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const result = await transfer();
    return { result, growth: Math.max(peak, await rssOf(pid)) - before };
  } finally {
    sampling = false;
    await sampler;
  }
}

let home: string;
let control: RunningControl;
let service: RunningService;
let gateway: ServiceProcess;
let agent: Agent;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'gw-streaming-'));
  control = await startControl({ env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0' } });
  const roots = control.bundle().roots.join('\n');
  const admin = { url: control.url, adminToken: control.adminToken, roots };
  const calls = [
    { service: 'sink', method: 'POST', path: '/upload' },
    { service: 'sink', method: 'GET', path: '/download' },
  ];
  service = await sink.start({
    env: {
      FLOTILLA_HOME: home,
      FLOTILLA_CONTROL_URL: control.url,
      FLOTILLA_JOIN_TOKEN: await joinToken(admin, 'sink'),
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      FLOTILLA_ALLOWED_CALLS: JSON.stringify({ gateway: { calls } }),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
  });
  const routes = join(home, 'routes.json');
  await writeFile(
    routes,
    JSON.stringify({
      routes: [
        // Only this route admits a large body; BODY_LIMIT (1 MiB) stays the gateway's default.
        {
          method: 'POST',
          path: '/upload',
          service: 'sink',
          upstreamPath: '/upload',
          auth: 'public',
          bodyLimit: TOTAL,
        },
        { method: 'GET', path: '/download', service: 'sink', upstreamPath: '/download', auth: 'public' },
      ],
    }),
  );
  gateway = await spawnService(MAIN, {
    FLOTILLA_HOME: join(home, 'gateway'),
    FLOTILLA_CONTROL_URL: control.url,
    FLOTILLA_JOIN_TOKEN: await joinToken(admin, 'gateway'),
    FLOTILLA_CA_BUNDLE_FILE: control.bundleFile ?? join(home, 'ca.pem'),
    GATEWAY_ROUTES_FILE: routes,
    TLS_PORT: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: '',
    LOG_LEVEL: 'warn',
    // As `flotilla up` starts it (packages/cli/src/up/fleet-runner.ts): 1 MB semi-spaces. With
    // V8's default 16 MB, the TLS read buffers a transfer leaves behind are freed only when
    // V8's external-memory trigger (64 MB) forces a collection, so the peak hovers about
    // that line whatever the body's size (measured: 17–81 MB for 256 MiB and for 1 GiB).
    NODE_OPTIONS: '--max-semi-space-size=1',
  });
  agent = new Agent({ connect: { ca: roots } });
  // Connections, pools and code paths warmed by a small transfer each way, before measuring.
  const warm = pattern(MiB);
  await upload(warm.stream, MiB);
  await (await request(`${gateway.url}/download?bytes=${MiB}`, { dispatcher: agent })).body.dump();
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await gateway?.kill('SIGTERM');
  await service?.stop();
  await control?.stop();
  await rm(home, { recursive: true, force: true });
});

async function upload(body: Readable, length: number) {
  const res = await request(`${gateway.url}/upload`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
    body,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  return { status: res.statusCode, body: (await res.body.json()) as { bytes: number; sha256: string } };
}

describe('bodies stream through the gateway and the kit with bounded memory', () => {
  it('uploads 256 MiB intact, the gateway’s RSS growing by less than 64 MB', async () => {
    const { stream, sent } = pattern(TOTAL);
    const { result, growth } = await rssGrowthDuring(gateway.pid, () => upload(stream, TOTAL));
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ bytes: TOTAL, sha256: sent.sha256 });
    expect(sent.bytes).toBe(TOTAL);
    expect(growth).toBeLessThan(RSS_GROWTH_MAX);
  }, 300_000);

  it('downloads 256 MiB intact, the gateway’s RSS growing by less than 64 MB', async () => {
    lastDownload = undefined;
    const { result, growth } = await rssGrowthDuring(gateway.pid, async () => {
      const res = await request(`${gateway.url}/download?bytes=${TOTAL}`, {
        dispatcher: agent,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      return { status: res.statusCode, received: await digest(res.body) };
    });
    expect(result.status).toBe(200);
    expect(lastDownload).toBeDefined();
    expect(result.received).toEqual({ bytes: TOTAL, sha256: lastDownload!.sha256 });
    expect(growth).toBeLessThan(RSS_GROWTH_MAX);
  }, 300_000);

  it('stops the upload to the service when the client goes away in the middle', async () => {
    const before = uploadsCut;
    const leave = new AbortController();
    // The client leaves once 16 MiB are on their way.
    const { stream } = pattern(TOTAL, (made) => made >= 16 * MiB && leave.abort());
    await expect(
      request(`${gateway.url}/upload`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) },
        body: stream,
        signal: leave.signal,
      }),
    ).rejects.toThrow();
    await vi.waitFor(() => expect(uploadsCut).toBe(before + 1), { timeout: 10_000, interval: 20 });
  });

  it('still refuses a body over the limit on a route without its own', async () => {
    const res = await request(`${gateway.url}/download`, {
      method: 'GET',
      dispatcher: agent,
      headers: { 'content-length': String(2 * MiB) },
      body: pattern(2 * MiB).stream,
    });
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as { code: string }).code).toBe('FLT_BODY_TOO_LARGE');
  });
});
