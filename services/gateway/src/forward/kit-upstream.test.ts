import { Readable } from 'node:stream';
import { FlotillaError } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../routes/route-table.js';
import { KitUpstream } from './kit-upstream.js';
import { Cancellation, type UpstreamResponse } from './upstream.js';

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
    ['FLT_UNAVAILABLE', 'unavailable'],
    ['FLT_UPSTREAM_TIMEOUT', 'timeout'],
    ['FLT_UPSTREAM_FAILED', 'bad-response'],
  ] as const)('maps the kit’s %s to %s', async (code, kind) => {
    const up = new KitUpstream(async () => {
      throw new FlotillaError(code, 'x');
    }, 1000);
    await expect(up.forward(route!, request())).rejects.toMatchObject({ name: 'UpstreamError', kind });
  });

  describe('dispatch (a request without a body)', () => {
    const [get] = new RouteTable([
      { method: 'GET', path: '/a', service: 'meta', upstreamPath: '/b', auth: 'public' },
    ]).routes;
    const receive = (up: KitUpstream, body?: string) =>
      new Promise<UpstreamResponse>((resolve, reject) =>
        up.dispatch(
          get!,
          { ...request(body), method: 'GET' },
          { upstreamResponse: resolve, upstreamError: reject },
        ),
      );
    const noCall = async (): Promise<never> => {
      throw new Error('call() used');
    };

    it('goes through the kit’s dispatch, headers flattened, a small answer whole', async () => {
      const seen: unknown[] = [];
      const up = new KitUpstream(noCall, 1000, (service, req, handler) => {
        seen.push({ service, ...req });
        const controller = {} as Dispatcher.DispatchController;
        handler.onRequestStart?.(controller, {});
        handler.onResponseStart?.(controller, 200, { 'content-length': '4' }, 'OK');
        handler.onResponseData?.(controller, Buffer.from('we'));
        handler.onResponseData?.(controller, Buffer.from('ll'));
        handler.onResponseEnd?.(controller, {});
      });
      const res = await receive(up);
      expect(seen).toEqual([
        {
          service: 'meta',
          method: 'GET',
          path: '/b?x=1',
          headers: { accept: 'a, b', cookie: 'c=1; d=2' },
          timeoutMs: 1000,
        },
      ]);
      expect(res.status).toBe(200);
      expect(Buffer.isBuffer(res.body) && res.body.toString()).toBe('well');
    });

    it.each([
      ['FLT_UNAVAILABLE', 'unavailable'],
      ['FLT_UPSTREAM_TIMEOUT', 'timeout'],
      ['FLT_UPSTREAM_FAILED', 'bad-response'],
    ] as const)('maps the kit’s %s to %s, reported or thrown', async (code, kind) => {
      const reported = new KitUpstream(noCall, 1000, (_s, _r, handler) =>
        handler.onResponseError?.({} as Dispatcher.DispatchController, new FlotillaError(code, 'x')),
      );
      await expect(receive(reported)).rejects.toMatchObject({ name: 'UpstreamError', kind });
      const thrown = new KitUpstream(noCall, 1000, () => {
        throw new FlotillaError(code, 'x');
      });
      await expect(receive(thrown)).rejects.toMatchObject({ name: 'UpstreamError', kind });
    });

    it('sends a request with a body through call(), which takes it whole', async () => {
      const up = new KitUpstream(
        async () =>
          ({ statusCode: 204, headers: {}, body: Readable.from([]) }) as unknown as Dispatcher.ResponseData,
        1000,
        () => {
          throw new Error('dispatch used for a body');
        },
      );
      expect((await receive(up, 'hello')).status).toBe(204);
    });
  });
});
