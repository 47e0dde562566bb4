import { describe, expect, it, vi } from 'vitest';
import type { CompiledRoute } from '../routes/route-table.js';
import { Cancellation, dispatchTo, type Upstream, type UpstreamRequest } from './upstream.js';

const route = { config: { service: 'videos' } } as unknown as CompiledRoute;
const request: UpstreamRequest = {
  method: 'GET',
  path: '/x',
  headers: {},
  body: undefined,
  cancel: new Cancellation(),
};
const receiver = () => ({ upstreamResponse: vi.fn(), upstreamError: vi.fn() });

describe('dispatchTo through an upstream without dispatch', () => {
  it('gives a synchronous throw of forward to the receiver as the failure, not to the caller', () => {
    const boom = new Error('boom');
    const upstream: Upstream = {
      forward: () => {
        throw boom;
      },
      close: async () => {},
    };
    const r = receiver();
    expect(() => dispatchTo(upstream, route, request, r)).not.toThrow();
    expect(r.upstreamError).toHaveBeenCalledExactlyOnceWith(boom);
    expect(r.upstreamResponse).not.toHaveBeenCalled();
  });

  it('gives a rejection that is not an Error to the receiver as an Error', async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what is tested
    const upstream: Upstream = { forward: () => Promise.reject('refused'), close: async () => {} };
    const r = receiver();
    dispatchTo(upstream, route, request, r);
    await vi.waitFor(() => expect(r.upstreamError).toHaveBeenCalledOnce());
    expect(r.upstreamError.mock.calls[0]![0]).toEqual(new Error('refused'));
    expect(r.upstreamResponse).not.toHaveBeenCalled();
  });

  it('gives the response to the receiver', async () => {
    const res = { status: 204, headers: {}, body: Buffer.alloc(0) };
    const upstream: Upstream = { forward: () => Promise.resolve(res), close: async () => {} };
    const r = receiver();
    dispatchTo(upstream, route, request, r);
    await vi.waitFor(() => expect(r.upstreamResponse).toHaveBeenCalledExactlyOnceWith(res));
    expect(r.upstreamError).not.toHaveBeenCalled();
  });
});
