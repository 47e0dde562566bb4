import { Readable } from 'node:stream';
import { type DispatchCall, FlotillaError } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../routes/route-table.js';
import { KitUpstream, type ServiceDispatch } from './kit-upstream.js';
import { Cancellation, type UpstreamResponse } from './upstream.js';

const [route] = new RouteTable([
  { method: 'POST', path: '/a', service: 'meta', upstreamPath: '/b', auth: 'public' },
]).routes;
const request = (body?: string, method = 'POST') => ({
  method,
  path: '/b?x=1',
  headers: {
    accept: ['a', 'b'],
    cookie: ['c=1', 'd=2'],
    ...(body === undefined ? {} : { 'content-length': String(body.length) }),
  },
  body: body === undefined ? undefined : Readable.from([Buffer.from(body)]),
  cancel: new Cancellation(),
});
const receive = (up: KitUpstream, req = request(undefined, 'GET')) =>
  new Promise<UpstreamResponse>((resolve, reject) =>
    up.dispatch(route!, req, { upstreamResponse: resolve, upstreamError: reject }),
  );

/** The kit's dispatch answering `status` with `body` in two chunks, as undici would. */
const answering =
  (status: number, body: string, seen: Array<{ service: string } & DispatchCall>): ServiceDispatch =>
  (service, req, handler) => {
    seen.push({ service, ...req });
    const controller = {} as Dispatcher.DispatchController;
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, status, { 'content-length': String(body.length) }, '');
    handler.onResponseData?.(controller, Buffer.from(body.slice(0, 2)));
    handler.onResponseData?.(controller, Buffer.from(body.slice(2)));
    handler.onResponseEnd?.(controller, {});
  };

async function text(body: Readable | Buffer | undefined): Promise<string> {
  if (!body || Buffer.isBuffer(body)) return body?.toString() ?? '';
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('KitUpstream', () => {
  it('calls the service by name through the kit’s dispatch, headers flattened, a small answer whole', async () => {
    const seen: Array<{ service: string } & DispatchCall> = [];
    const res = await receive(new KitUpstream(answering(200, 'well', seen), 1000));
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

  it('streams a request body through to the kit, never reading it here', async () => {
    const seen: Array<{ service: string } & DispatchCall> = [];
    const req = request('hello');
    const res = await receive(new KitUpstream(answering(201, 'made', seen), 1000), req);
    expect(res.status).toBe(201);
    expect(seen[0]).toMatchObject({
      service: 'meta',
      method: 'POST',
      path: '/b?x=1',
      headers: { accept: 'a, b', cookie: 'c=1; d=2', 'content-length': '5' },
      timeoutMs: 1000,
    });
    expect(seen[0]!.body).toBe(req.body); // the client's stream itself, not a copy
    expect(req.body!.readableDidRead).toBe(false);
    expect(await text(seen[0]!.body as Readable)).toBe('hello');
  });

  it.each(['FLT_NO_INSTANCE', 'FLT_CIRCUIT_OPEN', 'FLT_UPSTREAM_TIMEOUT', 'FLT_UPSTREAM_FAILED'] as const)(
    'gives the kit’s %s to the receiver as it is, reported or thrown',
    async (code) => {
      const err = new FlotillaError(code, 'x');
      const reported = new KitUpstream(
        (_s, _r, handler) => handler.onResponseError?.({} as Dispatcher.DispatchController, err),
        1000,
      );
      await expect(receive(reported)).rejects.toBe(err);
      const thrown = new KitUpstream(() => {
        throw err;
      }, 1000);
      await expect(receive(thrown)).rejects.toBe(err);
    },
  );

  it('answers 503 when the kit cannot call at all (no control plane)', async () => {
    const up = new KitUpstream(() => {
      throw new Error('service gateway has no control plane, so it cannot discover meta');
    }, 1000);
    await expect(receive(up)).rejects.toMatchObject({ code: 'FLT_UNAVAILABLE', status: 503 });
  });
});
