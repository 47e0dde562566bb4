// Over 400 lines on purpose: one control plane and one service per describe, and the
// bundle's life in order (sign, serve, reload, refuse, long-poll, rotate, restart) reads
// best in one file; helpers sit in ./helpers.ts.
import type { JsonWebKey } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openUserPolicy, type RunningService } from '@flotilla/kit';
import { type DecisionLogEntry, verifyBundle } from '@flotilla/policy';
import { echoService, joinToken } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControl, startControl } from '../src/index.js';
import { call } from './helpers.js';

const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');
const FORBID_FILE = 'zz-forbid-whoami.cedar';
const FORBID = `@id("test-forbid-frontend-whoami")
forbid (
  principal == Service::"frontend",
  action == Action::"http:GET",
  resource is Endpoint
)
when { resource.service == "metadata" && resource.path == "/whoami" };
`;
const FORBID_USER_FILE = 'zz-forbid-alice-read.cedar';
const FORBID_USER = `@id("test-forbid-alice-read")
forbid (principal == User::"alice", action == Action::"video:Read", resource is Video);
`;
const INVALID_FILE = 'zz-invalid.cedar';
// Line 3 names an action the schema does not have.
const INVALID = `// does not validate
@id("test-invalid")
permit (principal is Service, action == Action::"http:TELEPORT", resource is Endpoint);
`;

interface LogLine {
  msg: string;
  level: number;
  decision?: DecisionLogEntry;
  version?: number;
  errors?: string[];
}

/** A pino destination that keeps every line, parsed. */
function logSink() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, stream };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < until) {
    await sleep(50);
    value = await probe();
  }
  return value;
}

describe('policy distribution: the control plane signs and serves the bundle, services hot-reload it', () => {
  let home: string;
  let policies: string;
  let control: RunningControl;
  let server: RunningService;
  let client: RunningService;
  const controlLog = logSink();
  const serverLog = logSink();

  const whoami = async (): Promise<number> => {
    const res = await client.ctx.client.request('metadata', server.url, { path: '/whoami' });
    await res.body.dump();
    return res.statusCode;
  };
  const served = async () => {
    const res = await call(control, 'GET', '/v1/policy/bundle', undefined, { admin: control.adminToken });
    return { status: res.status, body: res.body as string };
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-policy-bundle-'));
    policies = join(home, 'policies');
    await cp(POLICY_DIR, policies, { recursive: true });
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'info', FLOTILLA_POLICY_DIR: policies },
      logStream: controlLog.stream,
      inMemoryDb: true,
    });
    const admin = {
      url: control.url,
      adminToken: control.adminToken,
      roots: control.bundle().roots.join('\n'),
    };
    const env = async (name: string) => ({
      FLOTILLA_HOME: home,
      FLOTILLA_CONTROL_URL: control.url,
      FLOTILLA_JOIN_TOKEN: await joinToken(admin, name),
      // The services never read a directory: their policies come from the bundle.
      FLOTILLA_POLICY_DIR: join(home, 'no-such-dir'),
      FLOTILLA_ALLOWED_CALLS: JSON.stringify({
        frontend: { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] },
      }),
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    server = await echoService('metadata').start({ env: await env('metadata'), logStream: serverLog.stream });
    client = await echoService('frontend').start({ env: await env('frontend'), logStream: logSink().stream });
  }, 30_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    await control?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('serves the signed bundle with its version as ETag, 304 on If-None-Match, and publishes the key', async () => {
    expect((await call(control, 'GET', '/v1/policy/bundle')).status).toBe(401);
    const res = await fetchRaw(control, {});
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jose/);
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"\d+"$/);
    expect((await fetchRaw(control, { 'if-none-match': etag })).status).toBe(304);

    const bundle = await call(control, 'GET', '/v1/bundle', undefined, { admin: control.adminToken });
    const keys = (bundle.body as { policyKeys: JsonWebKey[] }).policyKeys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(keys[0]).not.toHaveProperty('d');
    const verified = await verifyBundle(res.body, keys);
    expect(String(verified.version)).toBe(etag.replaceAll('"', ''));
    expect(Object.keys(verified.compiled.sources.files)).toContain('platform-bundle.cedar');

    // The signing key is sealed in the database: nothing of it under secrets/, nothing in the logs.
    const secrets = await readdir(join(home, 'secrets'));
    for (const name of secrets)
      expect(await readFile(join(home, 'secrets', name), 'utf8')).not.toMatch(/PRIVATE KEY|"d":/);
    expect(JSON.stringify(controlLog.lines)).not.toMatch(/PRIVATE KEY|"d":"/);
    const { rows } = await control.service.ctx.db.query<{ key_ct: string }>(
      'SELECT key_ct FROM policy_signing_keys',
    );
    expect(rows).toHaveLength(1);

    // The service runs the bundle (its own directory does not exist) and the declared call.
    expect(serverLog.lines.some((l) => l.msg === 'policy bundle applied')).toBe(true);
    expect(await whoami()).toBe(200);
  });

  it('a new forbid takes effect at the service, and removing it allows again', async () => {
    const before = (await served()).body;
    await writeFile(join(policies, FORBID_FILE), FORBID);
    // Propagation takes its own time (a speed figure belongs in bench/); the deadlines here
    // only bound a failing run.
    expect(await waitFor(whoami, (s) => s === 403, 15_000)).toBe(403);
    expect((await served()).body).not.toBe(before);

    await unlink(join(policies, FORBID_FILE));
    expect(await waitFor(whoami, (s) => s === 200, 15_000)).toBe(200);
  });

  it("the service's own user-level checks follow the bundle too", async () => {
    const alice = {
      sub: 'alice',
      kind: 'user',
      roles: ['viewer'],
      scopes: [],
      clientId: 'web',
      mfa: false,
    } as const;
    const video = {
      uid: { type: 'Video', id: 'v1' },
      attrs: { owner: { __entity: { type: 'User', id: 'bob' } } },
    };
    const engine = server.ctx.policy;
    if (!engine) throw new Error('the service has no policy engine');
    const policy = await openUserPolicy({ engine, audit: async () => undefined });
    expect(policy.allows(alice, 'video:Read', video)).toBe(true);

    await writeFile(join(policies, FORBID_USER_FILE), FORBID_USER);
    const t0 = Date.now();
    while (policy.allows(alice, 'video:Read', video) && Date.now() - t0 < 15_000) await sleep(50);
    expect(policy.allows(alice, 'video:Read', video)).toBe(false);
    expect(policy.decide(alice, 'video:Read', video).reasons).toContain('test-forbid-alice-read');

    await unlink(join(policies, FORBID_USER_FILE));
    const t1 = Date.now();
    while (!policy.allows(alice, 'video:Read', video) && Date.now() - t1 < 15_000) await sleep(50);
    expect(policy.allows(alice, 'video:Read', video)).toBe(true);
  });

  it('refuses a policy file that does not validate (file:line logged); services keep the good set', async () => {
    await writeFile(join(policies, FORBID_FILE), FORBID);
    expect(await waitFor(whoami, (s) => s === 403, 15_000)).toBe(403);
    const good = await fetchRaw(control, {});

    await writeFile(join(policies, INVALID_FILE), INVALID);
    const refused = await waitFor(
      async () => controlLog.lines.find((l) => l.msg.startsWith('policy change refused')),
      (l) => l !== undefined,
      15_000,
    );
    expect(refused?.errors?.join('\n')).toMatch(/zz-invalid\.cedar:3:\d+/);
    expect((await fetchRaw(control, {})).headers.etag).toBe(good.headers.etag);
    // The forbid still holds at the service well past a poll interval.
    await sleep(1_300);
    expect(await whoami()).toBe(403);

    // Fixing the directory (the invalid file and the forbid gone) goes through again.
    await unlink(join(policies, INVALID_FILE));
    await unlink(join(policies, FORBID_FILE));
    expect(await waitFor(whoami, (s) => s === 200, 15_000)).toBe(200);
  });

  it('logs every deny as a policy decision', async () => {
    await writeFile(join(policies, FORBID_FILE), FORBID);
    expect(await waitFor(whoami, (s) => s === 403, 15_000)).toBe(403);
    const denies = () =>
      serverLog.lines.filter(
        (l) =>
          l.msg === 'policy decision' &&
          l.decision?.decision === 'deny' &&
          l.decision.principal === 'Service::"frontend"',
      ).length;
    const before = denies();
    let refused = 0;
    for (let i = 0; i < 5; i++) if ((await whoami()) === 403) refused += 1;
    expect(refused).toBe(5);
    expect(denies() - before).toBe(5);
    const last = serverLog.lines.filter((l) => l.msg === 'policy decision').at(-1)?.decision;
    expect(last).toMatchObject({
      resource: 'Endpoint::"metadata GET /whoami"',
      policies: ['test-forbid-frontend-whoami'],
    });
    await unlink(join(policies, FORBID_FILE));
    expect(await waitFor(whoami, (s) => s === 200, 15_000)).toBe(200);
  });

  it('holds a long poll until a newer bundle is signed; services ask about once per hold, not every second', async () => {
    const current = (await fetchRaw(control, {})).headers.etag as string;
    for (const bad of ['0', '26', 'abc', '1.5'])
      expect(
        (await fetchRaw(control, { 'if-none-match': current }, `/v1/policy/bundle?wait=${bad}`)).status,
      ).toBe(400);

    // Nothing new: 304 after the wait.
    const t0 = Date.now();
    const idle = await fetchRaw(control, { 'if-none-match': current }, '/v1/policy/bundle?wait=1');
    expect(idle.status).toBe(304);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);

    // A change while it waits: answered with the new bundle at once.
    const held = fetchRaw(control, { 'if-none-match': current }, '/v1/policy/bundle?wait=20');
    await sleep(300);
    const t1 = Date.now();
    await writeFile(join(policies, FORBID_FILE), FORBID);
    const answer = await held;
    expect(answer.status).toBe(200);
    // Answered on the change, not at the end of the 20 s hold.
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(answer.headers.etag).not.toBe(current);
    await unlink(join(policies, FORBID_FILE));
    expect(await waitFor(whoami, (s) => s === 200, 15_000)).toBe(200);

    // The two services' polls over 3 idle seconds: held, so about one each.
    const polls = async () => {
      const metric = await control.service.ctx.metrics.getSingleMetric('http_requests_total')?.get();
      return (metric?.values ?? [])
        .filter((v) => v.labels.route === '/v1/policy/bundle')
        .reduce((n, v) => n + v.value, 0);
    };
    await sleep(500);
    const before = await polls();
    await sleep(3_000);
    expect((await polls()) - before).toBeLessThanOrEqual(2);
  });

  it('rotates the signing key: services move to the re-signed bundle, the old key is retired one rotation later', async () => {
    const policyKeys = async () =>
      (
        (await call(control, 'GET', '/v1/bundle', undefined, { admin: control.adminToken })).body as {
          policyKeys: JsonWebKey[];
        }
      ).policyKeys;
    const [original] = await policyKeys();
    const before = await fetchRaw(control, {});
    const applied = () => serverLog.lines.filter((l) => l.msg === 'policy bundle applied').at(-1)?.version;

    expect((await call(control, 'POST', '/v1/policy/keys/rotate')).status).toBe(401);
    expect(
      (await call(control, 'POST', '/v1/policy/keys/rotate', undefined, { admin: 'wrong' })).status,
    ).toBe(401);
    const first = await call(control, 'POST', '/v1/policy/keys/rotate', undefined, {
      admin: control.adminToken,
    });
    expect(first.status).toBe(201);
    const rotated = first.body as { kid: string; version: number; published: string[]; retired: string[] };
    expect(rotated.kid).not.toBe(original?.kid);
    expect(rotated.version).toBe(Number(JSON.parse(before.headers.etag as string)) + 1);
    expect(rotated.published).toEqual([rotated.kid, original?.kid]);
    expect(rotated.retired).toEqual([]);

    // The new bundle verifies with the new key only; both keys are published for the overlap.
    const resigned = await fetchRaw(control, {});
    const keys = await policyKeys();
    const newKey = keys.find((k) => (k as { kid?: string }).kid === rotated.kid)!;
    await expect(verifyBundle(resigned.body, [original!])).rejects.toThrow();
    expect((await verifyBundle(resigned.body, [newKey])).version).toBe(rotated.version);
    expect(keys.map((k) => (k as { kid?: string }).kid)).toEqual([rotated.kid, original?.kid]);

    // The service applies it and keeps answering.
    const t0 = Date.now();
    while (applied() !== rotated.version && Date.now() - t0 < 15_000) await sleep(50);
    expect(applied()).toBe(rotated.version);
    expect(await whoami()).toBe(200);

    // The next rotation retires the original key.
    const second = await call(control, 'POST', '/v1/policy/keys/rotate', undefined, {
      admin: control.adminToken,
    });
    const again = second.body as { kid: string; published: string[]; retired: string[] };
    expect(again.retired).toEqual([original?.kid]);
    expect(again.published).toEqual([again.kid, rotated.kid]);
    expect((await policyKeys()).map((k) => (k as { kid?: string }).kid)).not.toContain(original?.kid);
    const t1 = Date.now();
    while (applied() !== rotated.version + 1 && Date.now() - t1 < 15_000) await sleep(50);
    expect(applied()).toBe(rotated.version + 1);
    expect(await whoami()).toBe(200);

    const { rows } = await control.service.ctx.db.query<{ kid: string; retired: boolean }>(
      'SELECT kid, retired_at IS NOT NULL AS retired FROM policy_signing_keys ORDER BY created_at',
    );
    expect(rows).toEqual([
      { kid: original?.kid, retired: true },
      { kid: rotated.kid, retired: false },
      { kid: again.kid, retired: false },
    ]);
  });

  it('a service stops promptly while its policy poll is held', async () => {
    await sleep(1_500); // past the pace between polls: its long poll is held by now
    const t0 = Date.now();
    await client.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('policy bundle versions across restarts', () => {
  it('keeps its sealed key and never reuses a version after a restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'flotilla-policy-restart-'));
    const policies = join(home, 'policies');
    await cp(POLICY_DIR, policies, { recursive: true });
    const start = () =>
      startControl({
        env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', FLOTILLA_POLICY_DIR: policies },
        inMemoryDb: false,
      });
    const state = async (c: RunningControl) => {
      const keys = await call(c, 'GET', '/v1/bundle', undefined, { admin: c.adminToken });
      return {
        etag: (await fetchRaw(c, {})).headers.etag as string,
        kid: (keys.body as { policyKeys: Array<{ kid: string }> }).policyKeys[0]?.kid,
      };
    };
    let control = await start();
    try {
      const first = await state(control);
      await writeFile(join(policies, FORBID_FILE), FORBID);
      const changed = await waitFor(
        () => state(control),
        (s) => s.etag !== first.etag,
        15_000,
      );
      expect(Number(JSON.parse(changed.etag))).toBe(Number(JSON.parse(first.etag)) + 1);
      await control.stop();

      // Same content after a restart: same version and key. A change: the next version.
      control = await start();
      expect(await state(control)).toEqual(changed);
      await control.stop();
      await unlink(join(policies, FORBID_FILE));
      control = await start();
      const after = await state(control);
      expect(Number(JSON.parse(after.etag))).toBe(Number(JSON.parse(changed.etag)) + 1);
      expect(after.kid).toBe(first.kid);
    } finally {
      await control.stop();
      await rm(home, { recursive: true, force: true });
    }
  }, 30_000);
});

/** GET /v1/policy/bundle with the admin token, keeping headers and the raw body. */
async function fetchRaw(
  control: RunningControl,
  headers: Record<string, string>,
  path = '/v1/policy/bundle',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, control.url),
      {
        ca: control.bundle().roots.join(''),
        agent: false,
        headers: { authorization: `Bearer ${control.adminToken}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
