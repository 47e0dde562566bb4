import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TestCa } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualIdentity, MtlsClient } from '../src/identity/index.js';
import { ControlClient } from '../src/contracts/control-api/workload-client.js';

describe('ControlClient', () => {
  let ca: TestCa;
  let server: Server;
  let url: string;
  let handshakes = 0;
  const callers: string[] = [];

  beforeAll(async () => {
    ca = await TestCa.create();
    const control = await ca.issue('control');
    server = createServer(
      { key: control.key, cert: control.cert, ca: ca.bundle, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        callers.push(req.socket.remoteAddress ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        // What the control plane answers, as the contract shapes it.
        const crls = req.url === '/v1/crls';
        res.end(JSON.stringify(crls ? { crls: [] } : { version: 1, roots: [ca.bundle], intermediates: [] }));
      },
    );
    server.on('secureConnection', () => (handshakes += 1));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('polls over the service mTLS pool, and a renewed certificate gets new connections', async () => {
    const identity = new ManualIdentity(ca.trustDomain, await ca.issue('metadata'));
    const mtls = new MtlsClient(identity);
    const client = new ControlClient(url, ca.trustDomain, () => mtls.agentFor('control'));
    const before = handshakes;
    for (let i = 0; i < 10; i++) {
      await client.bundle(identity.current());
      await client.crls(identity.current());
    }
    expect(callers.length).toBeGreaterThanOrEqual(20);
    // Twenty calls, not twenty handshakes (undici may open a second socket early on).
    expect(handshakes - before).toBeLessThanOrEqual(2);

    const reused = handshakes;
    identity.update(await ca.issue('metadata'));
    await client.bundle(identity.current());
    expect(handshakes).toBeGreaterThan(reused);
    await mtls.close();
  });

  it('still refuses a server that is not the control plane', async () => {
    const impostor = await ca.issue('metadata');
    const other = createServer({ key: impostor.key, cert: impostor.cert }, (_req, res) => res.end('{}'));
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const client = new ControlClient(
      `https://127.0.0.1:${(other.address() as AddressInfo).port}`,
      ca.trustDomain,
    );
    try {
      await expect(client.bundle(await ca.issue('history'))).rejects.toThrow(
        /expected spiffe:\/\/.*\/svc\/control/,
      );
    } finally {
      other.close();
    }
  });
});
