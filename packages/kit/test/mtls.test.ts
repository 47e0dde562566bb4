import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualIdentity, MtlsClient, type RunningService } from '@flotilla/kit';
import { echoService, TestCa } from '@flotilla/testing';
import { tempHome } from './helpers.js';

const allowed = (callers: string[]) =>
  JSON.stringify(
    Object.fromEntries(
      callers.map((c) => [c, { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] }]),
    ),
  );
const env = (home: string) => ({
  PORT: '0',
  FLOTILLA_HOME: home,
  LOG_LEVEL: 'silent',
  FLOTILLA_ALLOWED_CALLS: allowed(['history', 'likes', 'recommendations']),
});

describe('mTLS between services', () => {
  let ca: TestCa;
  let home: Awaited<ReturnType<typeof tempHome>>;
  let metadata: RunningService;
  let metadataId: ManualIdentity;
  let historyId: ManualIdentity;
  let history: MtlsClient;

  beforeAll(async () => {
    home = await tempHome();
    ca = await TestCa.create();
    metadataId = new ManualIdentity(ca.trustDomain, await ca.issue('metadata'));
    historyId = new ManualIdentity(ca.trustDomain, await ca.issue('history'));
    metadata = await echoService('metadata').start({ env: env(home.dir), identity: metadataId });
    history = new MtlsClient(historyId);
  });
  afterAll(async () => {
    await history?.close();
    await metadata?.stop();
    await home?.remove();
  });

  const whoami = async (client: MtlsClient, expect: string, url = metadata.url) => {
    const res = await client.request(expect, url, { path: '/whoami' });
    return { status: res.statusCode, body: (await res.body.json()) as { caller: string } };
  };

  it('serves HTTPS only, and the caller sees the verified SPIFFE ID of its peer', async () => {
    expect(metadata.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await whoami(history, 'metadata');
    expect(status).toBe(200);
    expect(body.caller).toBe('spiffe://flotilla.local/svc/history');
  });

  it('refuses, by policy, a verified caller that declared no such call, and audits it', async () => {
    const billing = new MtlsClient(new ManualIdentity(ca.trustDomain, await ca.issue('billing')));
    const res = await billing.request('metadata', metadata.url, { path: '/whoami' });
    expect(res.statusCode).toBe(403);
    expect(await res.body.json()).toMatchObject({
      code: 'FLT_FORBIDDEN',
      detail: 'billing may not call GET /whoami',
    });
    const trail = await readFile(join(home.dir, 'audit', 'metadata.jsonl'), 'utf8');
    const last = JSON.parse(trail.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({
      actor: 'spiffe://flotilla.local/svc/billing',
      action: 'policy.deny',
      outcome: 'denied',
    });
    await billing.close();
  });

  it('refuses a client without a certificate', async () => {
    const agent = new Agent({ connect: { ca: ca.bundle } });
    await expect(request(`${metadata.url}/whoami`, { dispatcher: agent })).rejects.toThrow();
    await agent.close();
  });

  it('refuses a client whose certificate comes from a foreign CA', async () => {
    const foreign = await TestCa.create({ name: 'Foreign' });
    const impostor = new MtlsClient(
      new ManualIdentity(ca.trustDomain, { ...(await foreign.issue('history')), ca: ca.bundle }),
    );
    await expect(whoami(impostor, 'metadata')).rejects.toThrow();
    await impostor.close();
  });

  it('refuses to talk to a server whose SPIFFE ID is not the service it meant to call', async () => {
    await expect(whoami(history, 'billing')).rejects.toThrow(
      'peer is spiffe://flotilla.local/svc/metadata, expected spiffe://flotilla.local/svc/billing',
    );
  });

  it('refuses a server with a revoked certificate', async () => {
    const client = new MtlsClient(new ManualIdentity(ca.trustDomain, await ca.issue('likes')));
    const id = (client as unknown as { identity: ManualIdentity }).identity;
    id.setRevoked([metadataId.current().serial]);
    await expect(whoami(client, 'metadata')).rejects.toThrow(/revoked/);
    id.setRevoked([]);
    expect((await whoami(client, 'metadata')).status).toBe(200);
    await client.close();
  });

  it('refuses a revoked client, and cuts its open keep-alive connection at once', async () => {
    const rec = await ca.issue('recommendations');
    const socket = connect({
      host: '127.0.0.1',
      port: metadata.port,
      key: rec.key,
      cert: rec.cert,
      ca: ca.bundle,
      servername: 'localhost',
    });
    await once(socket, 'secureConnect');
    socket.write('GET /whoami HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n');
    const [first] = (await once(socket, 'data')) as [Buffer];
    expect(first.toString()).toMatch(/^HTTP\/1\.1 200/);
    expect(first.toString()).toContain('spiffe://flotilla.local/svc/recommendations');

    const closed = once(socket, 'close');
    metadataId.setRevoked([rec.serial]);
    await closed; // the server hung up on the open connection
    expect(socket.destroyed).toBe(true);

    // A new connection with the revoked certificate is refused too.
    const client = new MtlsClient(new ManualIdentity(ca.trustDomain, rec));
    await expect(whoami(client, 'metadata')).rejects.toThrow();
    metadataId.setRevoked([]);
    // Others were never affected.
    expect((await whoami(history, 'metadata')).status).toBe(200);
    await client.close();
  });
});

describe('rotation without failed requests', () => {
  it('survives server and client certificate renewals, an intermediate rotation and a root rotation under load', async () => {
    const home = await tempHome();
    const ca = await TestCa.create();
    const serverId = new ManualIdentity(ca.trustDomain, await ca.issue('metadata', { ttlSeconds: 10 }));
    const clientId = new ManualIdentity(ca.trustDomain, await ca.issue('history', { ttlSeconds: 10 }));
    const server = await echoService('metadata').start({ env: env(home.dir), identity: serverId });
    const client = new MtlsClient(clientId);

    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const loop = async () => {
      while (running) {
        try {
          const res = await client.request('metadata', server.url, { path: '/whoami' });
          await res.body.dump();
          if (res.statusCode === 200) ok += 1;
          else failures.push(`status ${res.statusCode}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    // Between two changes, requests go on until 10 more have succeeded (or one has failed):
    // every certificate and bundle in turn carries traffic, however fast the machine is.
    let phases = 0;
    const pause = async () => {
      phases += 1;
      const target = ok + 10;
      while (ok < target && failures.length === 0) await new Promise((r) => setTimeout(r, 5));
    };

    for (let i = 0; i < 3; i++) {
      await pause();
      serverId.update(await ca.issue('metadata', { ttlSeconds: 10 }));
      await pause();
      clientId.update(await ca.issue('history', { ttlSeconds: 10 }));
    }
    await ca.rotateIntermediate();
    serverId.update(await ca.issue('metadata'));
    await pause();
    clientId.update(await ca.issue('history'));
    await pause();
    // Root rotation: both sides first learn the new bundle (old + new roots), then move to new leaves.
    await ca.rotateRoot();
    serverId.update({ ...serverId.current(), ca: ca.bundle });
    clientId.update({ ...clientId.current(), ca: ca.bundle });
    await pause();
    serverId.update(await ca.issue('metadata'));
    await pause();
    clientId.update(await ca.issue('history'));
    await pause();
    ca.retireOldRoots();
    serverId.update({ ...serverId.current(), ca: ca.bundle });
    clientId.update({ ...clientId.current(), ca: ca.bundle });
    await pause();

    running = false;
    await Promise.all(loops);
    await client.close();
    await server.stop();
    await home.remove();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(phases * 10);
  });
});
