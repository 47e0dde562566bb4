import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../test/harness.js';
import { RouteTable } from '../routes/route-table.js';
import { UndiciUpstream } from './undici-upstream.js';
import { Cancellation, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

const big = Buffer.alloc(200 * 1024, 'v');
let closedEarly = 0;
let server: Awaited<ReturnType<typeof listen>>;
let up: UndiciUpstream;
const [route] = new RouteTable([
  { method: 'GET', path: '/a/*', service: 'svc', upstreamPath: '/*', auth: 'public' },
]).routes;

beforeAll(async () => {
  server = await listen((req, res) => {
    if (req.url === '/small') return void res.writeHead(200, { 'content-length': '2' }).end('ok');
    if (req.url === '/big') return void res.writeHead(200, { 'content-length': big.length }).end(big);
    if (req.url === '/count') {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      return void req.on('end', () => res.end(String(bytes)));
    }
    if (req.url === '/chunked') {
      res.writeHead(200);
      res.write('a');
      return void setTimeout(() => res.end('b'), 20);
    }
    // /hang: answers only after a while; the gateway gives up first when its client leaves.
    res.on('close', () => {
      if (!res.writableFinished) closedEarly++;
    });
    setTimeout(() => res.end('late'), 2000);
  });
  up = new UndiciUpstream({ services: { svc: server.url }, timeoutMs: 5000 });
});
afterAll(async () => {
  await up.close();
  await server.close();
});

const request = (path: string, cancel = new Cancellation()): UpstreamRequest => ({
  method: 'GET',
  path,
  headers: {},
  body: undefined,
  cancel,
});

/** The upstream's one call shape, as a promise for the test. */
const forward = (req: UpstreamRequest) =>
  new Promise<UpstreamResponse>((resolve, reject) =>
    up.dispatch(route!, req, { upstreamResponse: resolve, upstreamError: reject }),
  );

async function text(body: Readable | Buffer): Promise<string> {
  if (Buffer.isBuffer(body)) return body.toString();
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('UndiciUpstream', () => {
  it('hands a small sized body over whole, and streams large or unsized ones', async () => {
    const small = await forward(request('/small'));
    expect(Buffer.isBuffer(small.body)).toBe(true);
    expect(await text(small.body)).toBe('ok');
    const large = await forward(request('/big'));
    expect(large.body).toBeInstanceOf(Readable);
    expect((await text(large.body)).length).toBe(big.length);
    const chunked = await forward(request('/chunked'));
    expect(chunked.body).toBeInstanceOf(Readable);
    expect(await text(chunked.body)).toBe('ab');
  });

  it('streams a request body to the upstream', async () => {
    const parts = Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024, 'u'));
    const res = await forward({ ...request('/count'), method: 'POST', body: Readable.from(parts) });
    expect(await text(res.body)).toBe(String(8 * 64 * 1024));
  });

  it('stops the upstream call when the client goes away', async () => {
    const cancel = new Cancellation();
    const pending = forward(request('/hang', cancel));
    await new Promise((r) => setTimeout(r, 50));
    cancel.cancel();
    await expect(pending).rejects.toMatchObject({ cause: { code: 'UND_ERR_ABORTED' } });
    for (let i = 0; i < 50 && closedEarly === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closedEarly).toBe(1);
  });
});
