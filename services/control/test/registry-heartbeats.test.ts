import { request } from 'undici';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MtlsClient, Registration, WorkloadIdentity } from '@flotilla/kit';
import { joinToken } from '@flotilla/testing';
import { pino } from 'pino';
import { startTestControl, type TestControl } from './helpers.js';

const silent = pino({ level: 'silent' });
const HEARTBEATS = 'application/vnd.flotilla.heartbeats';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Listed {
  id: string;
  service: string;
  heartbeats: number;
  lastHeartbeatSecondsAgo: number;
}

/** Heartbeats as streams (one request carries a heartbeat a second): what the registry accepts, and from whom. */
describe('registry heartbeat streams', () => {
  let control: TestControl;
  const identities: WorkloadIdentity[] = [];
  const clients: MtlsClient[] = [];

  const join_ = async (service: string) => {
    const identity = await WorkloadIdentity.join({
      service,
      trustDomain: 'flotilla.local',
      controlUrl: control.url,
      joinToken: await joinToken(
        { url: control.url, adminToken: control.adminToken, roots: control.bundle().roots.join('\n') },
        service,
      ),
      initialTrust: control.bundle().roots.join('\n'),
      log: silent,
    });
    identities.push(identity);
    const client = new MtlsClient(identity);
    clients.push(client);
    return client;
  };
  const list = async (client: MtlsClient): Promise<Listed[]> => {
    const res = await client.request('control', control.url, { path: '/v1/registry/instances' });
    return ((await res.body.json()) as { instances: Listed[] }).instances;
  };
  const register = async (client: MtlsClient, port: number) => {
    const res = await client.request('control', control.url, {
      method: 'POST',
      path: '/v1/registry/instances',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: '127.0.0.1', port }),
    });
    return (await res.body.json()) as {
      id: string;
      heartbeatSeconds: number;
      heartbeatStreamSeconds?: number;
    };
  };
  /** A raw heartbeat stream with the given body chunks, one every `everyMs`. */
  const stream = (client: MtlsClient, id: string, chunks: string[], everyMs = 100) =>
    request(new URL(`/v1/registry/instances/${id}/heartbeats`, control.url), {
      method: 'PUT',
      headers: { 'content-type': HEARTBEATS },
      dispatcher: client.agentFor('control'),
      body: Readable.from(
        (async function* () {
          for (const c of chunks) {
            await sleep(everyMs);
            yield Buffer.from(c);
          }
        })(),
        { objectMode: false },
      ),
    });
  const auditLines = async () =>
    (await readFile(join(control.home, 'audit', 'control.jsonl'), 'utf8')).trim().split('\n');

  beforeAll(async () => {
    // No active health checks: the registered addresses have nothing listening.
    control = await startTestControl({
      REGISTRY_HEARTBEAT_SECONDS: '1',
      REGISTRY_TTL_SECONDS: '3',
      REGISTRY_HEALTH_INTERVAL_MS: '600000',
      // Streams last half the request timeout at most: 3 s here, so that a test sees several.
      REQUEST_TIMEOUT_MS: '6000',
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(identities.map((i) => i.stop()));
    await control?.cleanup();
  });

  it('offers a stream at registration, and the kit heartbeats once a second over one connection', async () => {
    const client = await join_('streamer');
    const connections: unknown[] = [];
    const onConnection = (socket: unknown) => connections.push(socket);
    control.service.app.server.on('secureConnection', onConnection);
    const registration = new Registration(
      client,
      control.url,
      { address: '127.0.0.1', port: 41_001, ready: async () => true },
      silent,
    );
    try {
      registration.start();
      while (!registration.instanceId) await sleep(20);
      await sleep(7_500);
      const mine = (await list(client)).find((i) => i.id === registration.instanceId)!;
      // A beat a second from 1 s after the registration, across two 3 s streams and into a
      // third: 7 in 7.5 s (timers are not exact).
      expect(mine.heartbeats).toBeGreaterThanOrEqual(6);
      expect(mine.heartbeats).toBeLessThanOrEqual(8);
      expect(mine.lastHeartbeatSecondsAgo).toBeLessThanOrEqual(1.2);
      // Registration and streams share one keep-alive connection (the listing may take a
      // second one): no connection per heartbeat or per stream.
      expect(connections.length).toBeLessThanOrEqual(2);
    } finally {
      control.service.app.server.off('secureConnection', onConnection);
      await registration.deregister();
    }
    const offered = await register(client, 41_002);
    expect(offered.heartbeatStreamSeconds).toBe(3);
  });

  it("refuses a heartbeat stream for another service's instance, and audits it", async () => {
    const owner = await join_('owner');
    const other = await join_('intruder');
    const { id } = await register(owner, 41_010);
    const before = (await list(owner)).find((i) => i.id === id)!.heartbeats;

    const res = await stream(other, id, ['\n', '\n']);
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { detail: string }).detail).toBe(`instance ${id} belongs to owner`);
    const put = await other.request('control', control.url, {
      method: 'PUT',
      path: `/v1/registry/instances/${id}/heartbeat`,
    });
    expect(put.statusCode).toBe(403);
    await put.body.dump();

    expect((await list(owner)).find((i) => i.id === id)!.heartbeats).toBe(before);
    const refusals = (await auditLines())
      .map((l) => JSON.parse(l) as { actor: string; action: string; outcome: string; target: string })
      .filter((r) => r.action === 'registry.heartbeat' && r.target === `instance/${id}`);
    expect(refusals.length).toBe(2);
    expect(refusals.every((r) => r.outcome === 'denied' && r.actor.endsWith('/svc/intruder'))).toBe(true);
  });

  it('counts each beat of an open stream, and ends it with 204', async () => {
    const client = await join_('beater');
    const { id } = await register(client, 41_020);
    const res = await stream(client, id, ['\n', '\n', '\n']);
    expect(res.statusCode).toBe(204);
    await res.body.dump();
    expect((await list(client)).find((i) => i.id === id)!.heartbeats).toBe(3);
  });

  it('refuses anything but heartbeats in the stream, and closes it', async () => {
    const client = await join_('garbler');
    const { id } = await register(client, 41_030);
    const res = await stream(client, id, ['\n', '{"x":1}', '\n']);
    expect(res.statusCode).toBe(400);
    expect(res.headers.connection).toBe('close');
    await res.body.dump();
    const json = await client.request('control', control.url, {
      method: 'PUT',
      path: `/v1/registry/instances/${id}/heartbeats`,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.statusCode).toBe(415);
    await json.body.dump();
  });

  it('answers 404 mid-stream once the instance is gone, and the kit registers again', async () => {
    const client = await join_('forgotten');
    const registration = new Registration(
      client,
      control.url,
      { address: '127.0.0.1', port: 41_040, ready: async () => true },
      silent,
    );
    try {
      registration.start();
      while (!registration.instanceId) await sleep(20);
      const first = registration.instanceId;
      await sleep(1_200);
      // Removed behind the instance's back (as a failed health check would).
      const del = await client.request('control', control.url, {
        method: 'DELETE',
        path: `/v1/registry/instances/${first}`,
      });
      expect(del.statusCode).toBe(204);
      const until = Date.now() + 5_000;
      while ((!registration.instanceId || registration.instanceId === first) && Date.now() < until)
        await sleep(50);
      expect(registration.instanceId).toBeDefined();
      expect(registration.instanceId).not.toBe(first);
      const listed = await list(client);
      expect(listed.some((i) => i.id === registration.instanceId)).toBe(true);
      expect(listed.some((i) => i.id === first)).toBe(false);
    } finally {
      await registration.deregister();
    }
  });

  it("cuts an open stream when the caller's certificate is revoked", async () => {
    const client = await join_('revokee');
    const identity = identities[identities.length - 1]!;
    const { id } = await register(client, 41_050);
    const pending = stream(
      client,
      id,
      Array.from({ length: 20 }, () => '\n'),
      200,
    ).then(
      (res) => ({ status: res.statusCode }),
      (err: Error) => ({ error: err.message }),
    );
    await sleep(500);
    await control.ca.revoke({ serial: identity.current().serial }, 1);
    const outcome = await pending;
    // Cut, not ended: the stream was to run 4 s (20 beats 200 ms apart) and answer 200.
    expect('error' in outcome || outcome.status === 403).toBe(true);
    const count = async () => (await list(await join_('onlooker'))).find((i) => i.id === id)?.heartbeats;
    const after = await count();
    await sleep(500);
    expect(await count()).toBe(after);
  });
});

describe('registry heartbeats without a stream', () => {
  it('offers none when a stream would carry too few heartbeats, and the kit sends one request each', async () => {
    // A 4 s request timeout leaves 2 s streams: not worth it at one heartbeat a second.
    const control = await startTestControl({
      REGISTRY_HEARTBEAT_SECONDS: '1',
      REGISTRY_TTL_SECONDS: '3',
      REGISTRY_HEALTH_INTERVAL_MS: '600000',
      REQUEST_TIMEOUT_MS: '4000',
    });
    const identity = await WorkloadIdentity.join({
      service: 'plain',
      trustDomain: 'flotilla.local',
      controlUrl: control.url,
      joinToken: await joinToken(
        { url: control.url, adminToken: control.adminToken, roots: control.bundle().roots.join('\n') },
        'plain',
      ),
      initialTrust: control.bundle().roots.join('\n'),
      log: silent,
    });
    const client = new MtlsClient(identity);
    const registration = new Registration(
      client,
      control.url,
      { address: '127.0.0.1', port: 41_100, ready: async () => true },
      silent,
    );
    try {
      const res = await client.request('control', control.url, {
        method: 'POST',
        path: '/v1/registry/instances',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ address: '127.0.0.1', port: 41_101 }),
      });
      expect(await res.body.json()).not.toHaveProperty('heartbeatStreamSeconds');
      registration.start();
      while (!registration.instanceId) await sleep(20);
      await sleep(3_500);
      const listed = await client.request('control', control.url, { path: '/v1/registry/instances' });
      const { instances } = (await listed.body.json()) as { instances: Listed[] };
      const mine = instances.find((i) => i.id === registration.instanceId)!;
      expect(mine.heartbeats).toBeGreaterThanOrEqual(2);
      expect(mine.heartbeats).toBeLessThanOrEqual(4);
      expect(mine.lastHeartbeatSecondsAgo).toBeLessThanOrEqual(1.2);
    } finally {
      await registration.deregister();
      await client.close();
      await identity.stop();
      await control.cleanup();
    }
  });
});
