import { Readable } from 'node:stream';
import { FlotillaError } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../routes/route-table.js';
import { KitUpstream } from './kit-upstream.js';
import { Cancellation } from './upstream.js';

const [route] = new RouteTable([
  { method: 'POST', path: '/a', service: 'meta', upstreamPath: '/b', auth: 'public' },
]).routes;
const request = (body?: string) => ({
  method: 'POST',
  path: '/b?x=1',
  headers: { accept: ['a', 'b'], cookie: ['c=1', 'd=2'] },
  body: body === undefined ? undefined : Readable.from([Buffer.from(body)]),
  cancel: new Cancellation(),
});

describe('KitUpstream', () => {
  it('calls the service by name with the body read and headers flattened', async () => {
    const calls: unknown[] = [];
    const up = new KitUpstream(async (service, req) => {
      calls.push({ service, ...req, signal: undefined });
      return {
        statusCode: 201,
        headers: { 'content-type': 'text/plain' },
        body: Readable.from(['ok']),
      } as unknown as Dispatcher.ResponseData;
    }, 1000);
    const res = await up.forward(route!, request('hello'));
    expect(res.status).toBe(201);
    expect(calls[0]).toMatchObject({
      service: 'meta',
      method: 'POST',
      path: '/b?x=1',
      headers: { accept: 'a, b', cookie: 'c=1; d=2', 'content-length': '5' },
      timeoutMs: 1000,
    });
    expect((calls[0] as { body: Buffer }).body.toString()).toBe('hello');
  });

  it.each([
    ['SERVICE_UNAVAILABLE', 'unavailable'],
    ['GATEWAY_TIMEOUT', 'timeout'],
    ['BAD_GATEWAY', 'bad-response'],
  ] as const)('maps the kit’s %s to %s', async (code, kind) => {
    const up = new KitUpstream(async () => {
      throw new FlotillaError(code, 'x');
    }, 1000);
    await expect(up.forward(route!, request())).rejects.toMatchObject({ name: 'UpstreamError', kind });
  });
});
