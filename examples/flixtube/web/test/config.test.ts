import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { parseRoute } from '../src/routes.js';

const origin = 'https://flixtube.localhost:8443';

describe('parseConfig', () => {
  it('fills in the defaults', () => {
    expect(parseConfig({ issuer: 'https://auth.localhost:9443' }, origin)).toEqual({
      issuer: 'https://auth.localhost:9443',
      clientId: 'flixtube-web',
      redirectUri: `${origin}/`,
      apiBase: '/api',
      postLogoutRedirectUri: `${origin}/`,
      scope: 'openid profile roles',
    });
  });

  it.each([
    [{}, /issuer is required/],
    [{ issuer: 'http://auth.example.com' }, /https/],
    [{ issuer: 'https://a', redirectUri: 'https://evil.example/cb' }, /redirectUri must be on/],
    [{ issuer: 'https://a', apiBase: 'https://evil.example/api' }, /apiBase must be on/],
    [{ issuer: 'https://a', scope: 'profile' }, /openid/],
    [[], /object/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseConfig(raw, origin)).toThrow(message);
  });

  it('allows plain http for an issuer on the loopback only', () => {
    expect(parseConfig({ issuer: 'http://127.0.0.1:4000' }, origin).issuer).toBe('http://127.0.0.1:4000');
  });
});

describe('parseRoute', () => {
  it.each([
    ['', { page: 'videos' }],
    ['#/', { page: 'videos' }],
    ['#/history', { page: 'history' }],
    [
      '#/videos/6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a01',
      { page: 'video', id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a01' },
    ],
    ['#/videos/../../admin', { page: 'not-found' }],
  ])('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });
});
