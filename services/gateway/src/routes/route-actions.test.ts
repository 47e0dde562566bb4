import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRouteActions, routeAction, routeActionsOf } from './route-actions.js';
import type { RouteConfig } from './route-schema.js';

const SCHEMA = readFileSync(new URL('../../../../policies/schema.cedarschema', import.meta.url), 'utf8');

const route = (over: Partial<RouteConfig> = {}): RouteConfig => ({
  method: 'GET',
  path: '/api/videos',
  service: 'metadata',
  upstreamPath: '/videos',
  auth: 'required',
  ...over,
});

describe('route actions', () => {
  it('decides a route on its action, else on http:<METHOD> (HEAD as GET)', () => {
    expect(routeAction(route({ action: 'video:Read' }))).toBe('video:Read');
    expect(routeAction(route({ method: 'DELETE' }))).toBe('http:DELETE');
    expect(routeAction(route({ method: 'HEAD' }))).toBe('http:GET');
  });

  it('knows the actions the fleet schema declares for Route, and no others', () => {
    const declared = routeActionsOf(SCHEMA);
    for (const a of ['http:GET', 'http:DELETE', 'video:Read', 'video:Create', 'history:Record'])
      expect(declared.has(a), a).toBe(true);
    // Declared, but for buckets and keys: a route may not name it.
    expect(declared.has('storage:GetObject')).toBe(false);
  });

  it('accepts routes whose actions the schema declares, and public routes', () => {
    const declared = routeActionsOf(SCHEMA);
    expect(() =>
      checkRouteActions(
        {
          routes: [
            route({ action: 'video:Read' }),
            route({ method: 'POST', action: 'history:Record' }),
            route({ method: 'PATCH' }),
            route({ method: 'OPTIONS', auth: 'public' }),
          ],
        },
        declared,
      ),
    ).not.toThrow();
  });

  it.each([
    [route({ action: 'video:Share' }), 'routes.yaml: /routes/1/action "video:Share" is not an action'],
    [route({ action: 'kms:Decrypt' }), 'routes.yaml: /routes/1/action "kms:Decrypt" is not an action'],
    [route({ method: 'OPTIONS' }), 'routes.yaml: /routes/1/method decides on http:OPTIONS, which is not'],
  ])('refuses a route the policies could never allow (%#)', (bad, message) => {
    expect(() =>
      checkRouteActions({ routes: [route(), bad] }, routeActionsOf(SCHEMA), 'routes.yaml'),
    ).toThrow(message);
  });
});
