import { describe, expect, it } from 'vitest';
import { answerPreflight, corsResponseHeaders } from './cors-policy.js';

const cors = {
  origins: ['https://app.example'],
  methods: ['GET', 'POST'] as ('GET' | 'POST')[],
  headers: ['content-type', 'authorization'],
  credentials: true,
  maxAge: 600,
};

describe('CORS', () => {
  it('answers an allowed preflight with the exact origin', () => {
    const a = answerPreflight(cors, 'GET', 'https://app.example', 'POST', 'Content-Type, Authorization');
    expect(a).toEqual({
      ok: true,
      headers: {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type, authorization',
        'access-control-max-age': '600',
        'access-control-allow-credentials': 'true',
      },
    });
  });

  it.each([
    ['https://evil.example', 'GET', undefined, 'origin not allowed'],
    ['https://app.example', 'DELETE', undefined, 'method not allowed'],
    ['https://app.example', 'GET', 'x-secret', 'header not allowed'],
  ])('refuses %s %s %s', (origin, method, headers, reason) => {
    expect(answerPreflight(cors, 'GET', origin, method, headers)).toEqual({ ok: false, reason });
  });

  it('gives a disallowed origin no CORS headers', () => {
    expect(corsResponseHeaders(cors, 'https://evil.example')).toEqual({});
    expect(corsResponseHeaders(undefined, 'https://app.example')).toEqual({});
  });

  it('never answers * for the null origin', () => {
    expect(corsResponseHeaders({ origins: ['*'] }, 'null')).toEqual({});
    expect(corsResponseHeaders({ origins: ['*'] }, 'https://x.example')).toEqual({
      'access-control-allow-origin': '*',
    });
  });
});
