import { FlotillaError } from '@flotilla/kit';
import { describe, expect, it, vi } from 'vitest';
import type { CompiledRoute } from '../routes/route-table.js';
import {
  asUpstreamFailure,
  Cancellation,
  dispatchTo,
  failureKind,
  type Upstream,
  type UpstreamRequest,
} from './upstream.js';

const route = { config: { service: 'videos' } } as unknown as CompiledRoute;
const request: UpstreamRequest = {
  method: 'GET',
  path: '/x',
  headers: {},
  body: undefined,
  cancel: new Cancellation(),
};
const receiver = () => ({ upstreamResponse: vi.fn(), upstreamError: vi.fn() });

describe('dispatchTo', () => {
  it('gives a synchronous throw of dispatch to the receiver as the failure, not to the caller', () => {
    const boom = new Error('boom');
    const upstream: Upstream = {
      dispatch: () => {
        throw boom;
      },
      close: async () => {},
    };
    const r = receiver();
    expect(() => dispatchTo(upstream, route, request, r)).not.toThrow();
    expect(r.upstreamError).toHaveBeenCalledOnce();
    expect(r.upstreamError.mock.calls[0]![0]).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', cause: boom });
    expect(r.upstreamResponse).not.toHaveBeenCalled();
  });

  it('gives a throw that is not an Error to the receiver as a FlotillaError, and one as it is', () => {
    const r = receiver();
    const refused: Upstream = {
      dispatch: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- what is tested
        throw 'refused';
      },
      close: async () => {},
    };
    dispatchTo(refused, route, request, r);
    const err = r.upstreamError.mock.calls[0]![0] as FlotillaError;
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err.message).toContain('refused');
    const open = new FlotillaError('FLT_CIRCUIT_OPEN');
    const failing: Upstream = {
      dispatch: () => {
        throw open;
      },
      close: async () => {},
    };
    dispatchTo(failing, route, request, r);
    expect(r.upstreamError.mock.calls[1]![0]).toBe(open);
    expect(r.upstreamResponse).not.toHaveBeenCalled();
  });

  it('gives the response to the receiver', () => {
    const res = { status: 204, headers: {}, body: Buffer.alloc(0) };
    const upstream: Upstream = {
      dispatch: (_r, _q, rec) => rec.upstreamResponse(res),
      close: async () => {},
    };
    const r = receiver();
    dispatchTo(upstream, route, request, r);
    expect(r.upstreamResponse).toHaveBeenCalledExactlyOnceWith(res);
    expect(r.upstreamError).not.toHaveBeenCalled();
  });
});

describe('upstream failures', () => {
  it.each([
    ['FLT_UNAVAILABLE', 'unavailable'],
    ['FLT_NO_INSTANCE', 'unavailable'],
    ['FLT_CIRCUIT_OPEN', 'unavailable'],
    ['FLT_UPSTREAM_TIMEOUT', 'timeout'],
    ['FLT_UPSTREAM_FAILED', 'bad-response'],
  ] as const)('labels %s as %s', (code, kind) => {
    expect(failureKind(new FlotillaError(code))).toBe(kind);
  });

  it('keeps a FlotillaError as it is and wraps anything else', () => {
    const err = new FlotillaError('FLT_UPSTREAM_TIMEOUT');
    expect(asUpstreamFailure(err)).toBe(err);
    const other = new Error('socket hang up');
    expect(asUpstreamFailure(other)).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', cause: other });
    expect(asUpstreamFailure(other, 'FLT_UNAVAILABLE')).toMatchObject({ code: 'FLT_UNAVAILABLE' });
  });
});
