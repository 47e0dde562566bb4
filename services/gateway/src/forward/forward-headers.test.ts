import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, forwardedHeader, upstreamRequestHeaders } from './forward-headers.js';

describe('forwarded headers', () => {
  it('drops hop-by-hop (and Connection-listed), identity and host headers', () => {
    const out = upstreamRequestHeaders({
      host: 'api.example',
      connection: 'keep-alive, X-Custom',
      'x-custom': 'hop',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      trailer: 'x',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic x',
      'x-flotilla-caller': 'spiffe://x',
      'x-user-id': '1',
      'x-forwarded-user': 'admin',
      'x-forwarded-for': '1.2.3.4',
      'x-real-ip': '1.2.3.4',
      forwarded: 'for=1.2.3.4',
      'x-request-id': 'spoofed',
      expect: '100-continue',
      authorization: 'Bearer t',
      accept: 'application/json',
      'content-length': '3',
    });
    expect(out).toEqual({ authorization: 'Bearer t', accept: 'application/json', 'content-length': '3' });
  });

  it('drops hop-by-hop, CORS and HSTS from upstream responses', () => {
    expect(
      clientResponseHeaders({
        connection: 'x-a',
        'x-a': '1',
        'transfer-encoding': 'chunked',
        'access-control-allow-origin': '*',
        'strict-transport-security': 'max-age=0',
        'content-type': 'text/plain',
      }),
    ).toEqual({ 'content-type': 'text/plain' });
  });

  it('writes RFC 7239 Forwarded, bracketing IPv6', () => {
    expect(forwardedHeader('::1', 'https', 'api.example')).toBe('for="[::1]";proto=https;host="api.example"');
    expect(forwardedHeader('10.0.0.1', 'http', 'bad host"')).toBe('for=10.0.0.1;proto=http');
  });

  it('drops Authorization only when asked to (the caller then travels as a credential)', () => {
    const incoming = { authorization: 'Bearer t', accept: '*/*' };
    expect(upstreamRequestHeaders(incoming, true)).toEqual({ accept: '*/*' });
    expect(upstreamRequestHeaders(incoming)).toEqual(incoming);
  });

  it('reads Connection anew for each value (parsed values are remembered, not mixed up)', () => {
    const a = upstreamRequestHeaders({ connection: 'x-a', 'x-a': '1', 'x-b': '2' });
    const b = upstreamRequestHeaders({ connection: 'X-B', 'x-a': '1', 'x-b': '2' });
    const c = upstreamRequestHeaders({ connection: 'x-a', 'x-a': '1', 'x-b': '2' });
    expect(a).toEqual({ 'x-b': '2' });
    expect(b).toEqual({ 'x-a': '1' });
    expect(c).toEqual({ 'x-b': '2' });
    // Many distinct values (a client making them up) do not grow the memo without bound,
    // and each is still honoured.
    for (let i = 0; i < 500; i++)
      expect(upstreamRequestHeaders({ connection: `x-${i}`, [`x-${i}`]: 'hop' })).toEqual({});
  });

  it('forwards own fields only, whatever names they have (mixed case is lowered)', () => {
    const proto = { 'x-inherited': 'no' };
    const incoming = Object.assign(Object.create(proto) as Record<string, string>, { Accept: 'a' });
    expect(upstreamRequestHeaders(incoming)).toEqual({ accept: 'a' });
    expect(
      clientResponseHeaders(Object.assign(Object.create(proto) as Record<string, string>, { 'X-Up': '1' })),
    ).toEqual({
      'x-up': '1',
    });
  });
});
