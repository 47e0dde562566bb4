import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningService, x509 } from '@flotilla/kit';
import { Agent, request } from 'undici';
import { echoService, joinToken } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControl, startControl } from '../src/index.js';

const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');

/**
 * Real certificates with a 10 s lifetime from the real control plane: services renew at
 * half-life and swap their TLS contexts while a request loop runs between them.
 */
describe('live rotation and CA outage, with the real control plane', () => {
  let home: string;
  let control: RunningControl;
  let server: RunningService;
  let client: RunningService;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-rotation-'));
    control = await startControl({
      env: {
        FLOTILLA_HOME: home,
        LOG_LEVEL: 'silent',
        FLOTILLA_CERT_TTL_SECONDS: '10',
        FLOTILLA_POLICY_DIR: POLICY_DIR,
      },
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
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      FLOTILLA_ALLOWED_CALLS: JSON.stringify({
        frontend: { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] },
      }),
      FLOTILLA_REFRESH_MS: '1000',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    server = await echoService('metadata').start({ env: await env('metadata') });
    client = await echoService('frontend').start({ env: await env('frontend') });
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    await control?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const loop = async (ms: number) => {
    const failures: string[] = [];
    let ok = 0;
    const until = Date.now() + ms;
    const worker = async () => {
      while (Date.now() < until) {
        try {
          const res = await client.ctx.call('metadata', { path: '/whoami', timeoutMs: 3000 });
          await res.body.dump();
          if (res.statusCode === 200) ok += 1;
          else failures.push(`status ${res.statusCode}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    return { ok, failures };
  };

  it('renews across three rotations with zero failed requests', async () => {
    const serials = new Set([server.ctx.identity!.current().serial]);
    const offServer = server.ctx.identity!.onChange((m) => serials.add(m.serial));
    const { ok, failures } = await loop(17_000);
    offServer();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(serials.size).toBeGreaterThanOrEqual(4); // the first certificate and three renewals
  }, 40_000);

  it('stays at zero failed requests across an intermediate rotation', async () => {
    const issuerOf = () => new x509.X509Certificate(server.ctx.identity!.current().cert).issuer;
    const before = issuerOf();
    const rotating = (async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      const agent = new Agent({
        connect: { ca: control.bundle().roots.join('\n'), servername: 'localhost' },
      });
      const res = await request(new URL('/v1/ca/rotate', control.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${control.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ which: 'intermediate' }),
        dispatcher: agent,
      });
      await res.body.dump();
      await agent.close();
      expect(res.statusCode).toBe(200);
    })();
    const { ok, failures } = await loop(12_000);
    await rotating;
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(issuerOf()).not.toBe(before); // renewed under the new intermediate
  }, 40_000);

  it('keeps serving while the control plane is down, until the certificates near expiry', async () => {
    await control.stop();
    const { ok, failures } = await loop(3_000);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    // Renewal keeps failing; near expiry readiness turns unready (and says why).
    const notAfter = server.ctx.identity!.current().notAfter.getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, notAfter - Date.now() - 2000)));
    expect(() => server.ctx.identity!.check()).toThrow(/renewal fails/);
  }, 40_000);
});
