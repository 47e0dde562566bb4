import { ConfigError } from '@flotilla/kit';
import { schemaActions } from '@flotilla/policy';
import type { GatewayRoutesConfig, RouteConfig } from './route-schema.js';

/**
 * The action the policy decides a route on: its `action`, else `http:<METHOD>`. A HEAD
 * request reads as a GET does, so it is decided as one.
 *
 * @example
 * routeAction({ method: 'GET', path: '/api/videos', action: 'video:Read', … }); // → 'video:Read'
 * routeAction({ method: 'HEAD', path: '/api/videos', … }); // → 'http:GET'
 */
export function routeAction(route: Pick<RouteConfig, 'method' | 'action'>): string {
  return route.action ?? `http:${route.method === 'HEAD' ? 'GET' : route.method}`;
}

/** The actions a Cedar schema declares for `Route` (no namespace): those a route may name. */
export function routeActionsOf(schema: string): ReadonlySet<string> {
  return new Set(
    schemaActions(schema)
      .filter((a) => a.type === 'Action' && a.resourceTypes.includes('Route'))
      .map((a) => a.id),
  );
}

/**
 * Refuses a route the policies could never allow: one requiring authentication whose action
 * the schema does not declare for `Route` (Cedar would deny every request on it, so the
 * setting would look like security and do nothing). Public routes are never asked about.
 * Errors name where the route is, e.g. `routes.json: /routes/3/action`.
 */
export function checkRouteActions(
  config: Pick<GatewayRoutesConfig, 'routes'>,
  declared: ReadonlySet<string>,
  source = 'routes',
): void {
  config.routes.forEach((route, i) => {
    if (route.auth !== 'required') return;
    const action = routeAction(route);
    if (declared.has(action)) return;
    const field = route.action === undefined ? 'method' : 'action';
    const named = route.action === undefined ? `decides on ${action}, which` : `"${action}"`;
    throw new ConfigError(
      'GATEWAY_ROUTES_FILE',
      `${source}: /routes/${i}/${field} ${named} is not an action the policy schema declares for Route`,
    );
  });
}
