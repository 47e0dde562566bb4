import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MtlsClient } from '../identity/mtls-client.js';
import type { Catalog } from './catalog.js';
import type { Instance } from './instance.js';
import { ServiceClient } from './service-client.js';

let server: Server;
let live: Instance;
const agent = new Agent();
/** The mTLS client's place, over plain HTTP: the same undici agent API. */
const mtls = {
  agentFor: () => ({
    dispatch: (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) =>
      agent.dispatch({ ...opts, origin: String(opts.origin).replace('https:', 'http:') }, handler),
  }),
} as unknown as MtlsClient;
const catalogOf = (instances: Instance[]) => ({ instances: () => instances }) as unknown as Catalog;

beforeAll(async () => {
  server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      if (req.url === '/hang') return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes, trace: req.headers.traceparent }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  live = { id: 'a', service: 'svc', address: '127.0.0.1', port: (server.address() as AddressInfo).port };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await agent.close();
});

describe('ServiceClient.call: the promise API over the attempts', () => {
  it('answers with undici’s response (a body with json()), a streamed request body sent through', async () => {
    const client = new ServiceClient(catalogOf([live]), mtls);
    const body = Readable.from([Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2)]);
    const res = await client.call('svc', { method: 'POST', path: '/up', body });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ method: 'POST', url: '/up', bytes: 200_000 });
  });

  it('rejects with the call’s FlotillaError', async () => {
    const none = new ServiceClient(catalogOf([]), mtls);
    await expect(none.call('svc', { path: '/x' })).rejects.toMatchObject({
      name: 'FlotillaError',
      code: 'FLT_NO_INSTANCE',
    });
  });

  it('rejects at once while the circuit is open', async () => {
    const client = new ServiceClient(catalogOf([]), mtls);
    for (let i = 0; i < 20; i++) await client.call('svc', { path: '/x' }).catch(() => undefined);
    await expect(client.call('svc', { path: '/x' })).rejects.toMatchObject({ code: 'FLT_CIRCUIT_OPEN' });
  });

  it('stops the attempt when the signal aborts, and rejects with its reason', async () => {
    const client = new ServiceClient(catalogOf([live]), mtls);
    const abort = new AbortController();
    const pending = client.call('svc', { path: '/hang', signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // The next call is not held up (and would fail on an instance held against the client).
    const res = await client.call('svc', { path: '/after' });
    expect(((await res.body.json()) as { url: string }).url).toBe('/after');
  });
});
