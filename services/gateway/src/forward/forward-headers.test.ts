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
});
