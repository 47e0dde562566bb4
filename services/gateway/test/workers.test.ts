// GATEWAY_WORKERS > 1: several processes on the same ports. Rate limits must hold across
// them, a revocation must reach every one of them, the audit trail must stay
// one valid chain, and SIGTERM must stop them all after draining.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { verifyAuditFile } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, startIssuer, startUpstream, testCertificate, AUDIENCE, ISSUER } from './harness.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const LIMIT = 10;

let issuer: Awaited<ReturnType<typeof startIssuer>>;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let slow: Awaited<ReturnType<typeof listen>>;
let events: Awaited<ReturnType<typeof listen>>;
const streams: ServerResponse[] = [];
let tls: ReturnType<typeof testCertificate>;
let gw: ChildProcess;
let gwUrl: string;
const lines: Array<Record<string, unknown>> = [];
// Resolved when the slow upstream holds a request: SIGTERM must come after that, not after
// a guessed delay (on a loaded host the request may not have reached a worker yet).
let slowArrived: () => void = () => {};
const dir = mkdtempSync(join(tmpdir(), 'gw-workers-'));

beforeAll(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
  slow = await listen((_req, res) => {
    slowArrived();
    setTimeout(() => res.end('late'), 400);
  });
  // The auth server's revocation stream (SSE): every worker subscribes to it.
  events = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\n\n');
    streams.push(res);
  });
  tls = testCertificate();
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.key, { mode: 0o600 });
  writeFileSync(
    join(dir, 'routes.json'),
    JSON.stringify({
      upstreams: { videos: upstream.url, slow: slow.url },
      throttle: { user: { points: LIMIT, duration: 60 } },
      routes: [
        {
          method: 'GET',
          path: '/api/videos/:id',
          service: 'videos',
          upstreamPath: '/videos/:id',
          auth: 'required',
          scopes: ['videos:read'],
        },
        { method: 'GET', path: '/slow', service: 'slow', upstreamPath: '/slow', auth: 'public' },
      ],
    }),
  );
  gw = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      GATEWAY_WORKERS: '2',
      GATEWAY_ROUTES_FILE: join(dir, 'routes.json'),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      TLS_PORT: '0',
      PORT: '0',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: issuer.jwksUrl,
      REVOCATION_EVENTS_URL: `${events.url}/v1/revocations/events`,
      FLOTILLA_HOME: join(dir, 'home'),
      FLOTILLA_CONTROL_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listening = new Promise<string>((resolve, reject) => {
    gw.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
    createInterface({ input: gw.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(entry);
      if (typeof entry.listening === 'string') resolve(entry.listening);
    });
  });
  gwUrl = await listening;
}, 60_000);

afterAll(async () => {
  if (gw.exitCode === null) {
    gw.kill('SIGKILL');
    await once(gw, 'exit');
  }
  for (const s of streams) s.destroy();
  await Promise.all([issuer.close(), upstream.close(), slow.close(), events.close()]);
  tls.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** One request on its own connection, so that the cluster hands it to the next worker. */
function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${gwUrl}${path}`,
      { ca: tls.cert, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Access lines logged so far for one caller: which worker (pid) answered, and how. */
function access(principal: string): Array<{ pid: number; status: number; decision: string }> {
  return lines.flatMap((l) => {
    const a = l.access as { principal?: string; status: number; decision: string } | undefined;
    return a?.principal === principal
      ? [{ pid: l.pid as number, status: a.status, decision: a.decision }]
      : [];
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway with GATEWAY_WORKERS=2', () => {
  it('enforces a rate limit across workers, not per worker', async () => {
    const token = await issuer.token({ sub: 'limited-user' });
    const statuses: number[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) statuses.push((await get('/api/videos/1', token)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * LIMIT);
    await until(() => access('User:limited-user').length === 3 * LIMIT);
    const served = access('User:limited-user');
    // Both workers answered, and both refused once the shared limit was spent.
    expect(new Set(served.filter((a) => a.status === 200).map((a) => a.pid)).size).toBe(2);
    expect(new Set(served.filter((a) => a.status === 429).map((a) => a.pid)).size).toBe(2);
  });

  it('denies a revoked token on every worker once the event arrives', async () => {
    expect(streams.length).toBeGreaterThanOrEqual(2); // each worker subscribed
    const jti = `revoked-${Date.now()}`;
    const token = await issuer.token({ sub: 'revoked-user', jti });
    for (let i = 0; i < 4; i++) expect((await get('/api/videos/2', token)).status).toBe(200);
    for (const s of streams)
      s.write(`data: ${JSON.stringify({ type: 'token', jti, at: Math.floor(Date.now() / 1000) })}\n\n`);
    // Six refusals in a row, handed out round-robin, reach both workers. Each worker reads
    // its stream in its own time: a deadline only bounds a failing run.
    let made = 4;
    let refusedInARow = 0;
    await expect
      .poll(
        async () => {
          made++;
          const refused = (await get('/api/videos/2', token)).status === 401;
          return (refusedInARow = refused ? refusedInARow + 1 : 0);
        },
        { timeout: 15_000, interval: 10 },
      )
      .toBe(6);
    await until(() => access('User:revoked-user').length === made);
    const revoked = access('User:revoked-user').filter((a) => a.decision === 'revoked');
    expect(revoked.length).toBeGreaterThanOrEqual(6);
    expect(new Set(revoked.map((a) => a.pid)).size).toBe(2);
  });

  it('stops every worker on SIGTERM after answering the requests in flight, with one audit chain', async () => {
    const workers = new Set(access('User:limited-user').map((a) => a.pid));
    const arrived = new Promise<void>((r) => (slowArrived = r));
    const inFlight = get('/slow');
    await arrived;
    gw.kill('SIGTERM');
    expect(await inFlight).toEqual({ status: 200, body: 'late' });
    const [code] = (await once(gw, 'exit')) as [number];
    expect(code).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    // The 429 refusals and the revoked denials were audited by both workers through the primary.
    const audit = await verifyAuditFile(join(dir, 'home', 'audit', 'gateway.jsonl'));
    expect(audit).toMatchObject({ ok: true });
    expect(audit.records).toBeGreaterThanOrEqual(2 * LIMIT + 6);
  });
});
