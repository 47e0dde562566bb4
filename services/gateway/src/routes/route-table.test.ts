import { describe, expect, it } from 'vitest';
import type { RouteConfig } from './route-schema.js';
import { RouteTable, upstreamPathFor } from './route-table.js';

const route = (method: RouteConfig['method'], path: string, upstreamPath: string): RouteConfig => ({
  method,
  path,
  service: 'svc',
  upstreamPath,
  auth: 'public',
});

describe('RouteTable', () => {
  const table = new RouteTable([
    route('GET', '/api/videos/:id', '/videos/:id'),
    route('GET', '/api/videos/new', '/videos/latest'),
    route('POST', '/api/videos', '/videos'),
    route('GET', '/api/files/*', '/blobs/*'),
  ]);

  it('matches literals before parameters', () => {
    const m = table.match('GET', ['api', 'videos', 'new']);
    expect(m.kind === 'match' && m.route.config.upstreamPath).toBe('/videos/latest');
  });

  it('captures parameters and re-encodes them upstream', () => {
    const m = table.match('GET', ['api', 'videos', 'a b/c']);
    expect(m.kind).toBe('match');
    if (m.kind === 'match') expect(upstreamPathFor(m.route, m.params)).toBe('/videos/a%20b%2Fc');
  });

  it('forwards the rest of the path for *', () => {
    const m = table.match('GET', ['api', 'files', 'x', 'y z']);
    if (m.kind !== 'match') throw new Error('no match');
    expect(upstreamPathFor(m.route, m.params)).toBe('/blobs/x/y%20z');
  });

  it('answers HEAD with a GET route', () => {
    expect(table.match('HEAD', ['api', 'videos', '1']).kind).toBe('match');
  });

  it('tells a wrong method from an unknown path', () => {
    expect(table.match('DELETE', ['api', 'videos'])).toEqual({ kind: 'method-not-allowed', allow: ['POST'] });
    expect(table.match('GET', ['nope'])).toEqual({ kind: 'not-found' });
    expect(table.match('GET', ['api', 'videos', '1', 'extra'])).toEqual({ kind: 'not-found' });
  });

  it('works out per-route constants once: policy resource, scopes, a path without captures', () => {
    const [r] = new RouteTable([
      { ...route('GET', '/api/videos/:id', '/videos/:id'), id: 'videos.get', scopes: ['videos:read'] },
    ]).routes;
    expect(r!.resource).toEqual({
      type: 'Route',
      id: 'videos.get',
      service: 'svc',
      method: 'GET',
      path: '/api/videos/:id',
    });
    expect(Object.isFrozen(r!.resource)).toBe(true);
    expect(r!.scopes).toEqual(['videos:read']);
    expect(Object.isFrozen(r!.scopes)).toBe(true);
    expect(r!.fixedUpstreamPath).toBeUndefined();
    const [fixed] = new RouteTable([route('GET', '/api/health', '/internal/health')]).routes;
    expect(fixed!.scopes).toEqual([]);
    expect(fixed!.fixedUpstreamPath).toBe('/internal/health');
    expect(upstreamPathFor(fixed!, {})).toBe('/internal/health');
  });
});
