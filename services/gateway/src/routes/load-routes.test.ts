import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoutesFile, validateRoutes } from './load-routes.js';

const ok = { method: 'GET', path: '/api/v/:id', service: 'meta', upstreamPath: '/v/:id', auth: 'public' };

describe('routes configuration', () => {
  it('accepts a valid file (YAML) and freezes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-routes-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(
      file,
      'routes:\n  - method: GET\n    path: /api/v/:id\n    service: meta\n    upstreamPath: /v/:id\n    auth: required\n    scopes: [v:read]\n',
    );
    const config = loadRoutesFile(file);
    expect(config.routes[0]?.scopes).toEqual(['v:read']);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it.each([
    [{ routes: [ok, { ...ok, path: '/b', upstreamPath: '/b', colour: 'red' }] }, '/routes/1/colour'],
    [{ routes: [{ ...ok, auth: 'maybe' }] }, '/routes/0/auth'],
    [{ routes: [ok], extra: 1 }, '/extra'],
    [{ routes: [{ ...ok, upstreamPath: '/v/:other' }] }, '/routes/0/upstreamPath uses other'],
    [{ routes: [ok, { ...ok, path: '/api/v/:x', upstreamPath: '/v/:x' }] }, '/routes/1/path duplicates'],
    [{ routes: [{ ...ok, throttle: 'nope' }] }, '/routes/0/throttle names no policy'],
    [
      { routes: [{ ...ok, cors: { origins: ['*'], credentials: true } }] },
      '/routes/0/cors/origins must list exact',
    ],
    [{ routes: [{ ...ok, cors: { origins: ['app.example'] } }] }, '/routes/0/cors/origins/0'],
    [{ routes: [{ ...ok, path: '/a/*/b', upstreamPath: '/b' }] }, '/routes/0/path may use * only'],
    [{ routes: [{ ...ok, scopes: ['x'] }] }, '/routes/0/scopes needs auth'],
    [{ routes: [{ ...ok, action: 'video:Read' }] }, '/routes/0/action needs auth'],
    [
      { routes: [{ ...ok, method: 'POST', path: '/api/permissions', upstreamPath: '/p' }] },
      "a route takes POST /api/permissions, the gateway's own endpoint",
    ],
    [{ routes: [ok], permissions: { throttle: 'nope' } }, '/permissions/throttle names no policy'],
    [{ routes: [ok], permissions: { cors: { origins: ['app.example'] } } }, '/permissions/cors/origins/0'],
    [{ routes: [ok], permissions: { enabled: 'no' } }, '/permissions/enabled'],
  ])('refuses a bad entry and names where it is (%#)', (input, where) => {
    expect(() => validateRoutes(input, 'f.yaml')).toThrow(`f.yaml: ${where}`);
  });

  it('leaves POST /api/permissions to a route of the fleet’s when the built-in one is off', () => {
    const own = { ...ok, method: 'POST', path: '/api/permissions', upstreamPath: '/p' };
    expect(validateRoutes({ routes: [own], permissions: { enabled: false } }).routes).toHaveLength(1);
  });
});
