import type { GatewayRoutesConfig, RouteConfig } from '../routes/route-schema.js';
import type { BuiltinRoute } from '../routes/route-table.js';

/** Where the web app asks which requests the signed-in caller may make. */
export const PERMISSIONS_PATH = '/api/permissions';

/** 50 questions of a path up to 2 KB each, with room for the JSON around them. */
export const PERMISSIONS_BODY_LIMIT = 128 * 1024;

/**
 * The gateway's own routes: `POST /api/permissions`, unless the routes file turns it off
 * (`permissions: { enabled: false }`) or no route requires a caller (then there is no
 * authentication to ask it with, and every route's answer would be the same). It is a route
 * like the others — CORS, throttle, authentication, revocation, `http:POST` decided by the
 * policies on `Route::"POST /api/permissions"`, the caller's quotas — answered by the
 * gateway instead of an upstream (`permissions-endpoint.ts`).
 */
export function builtinRoutes(config: GatewayRoutesConfig, authenticates: boolean): BuiltinRoute[] {
  const permissions = config.permissions ?? {};
  if (permissions.enabled === false || !authenticates) return [];
  const route: RouteConfig = {
    method: 'POST',
    path: PERMISSIONS_PATH,
    service: 'gateway',
    upstreamPath: PERMISSIONS_PATH,
    auth: 'required',
    bodyLimit: PERMISSIONS_BODY_LIMIT,
    ...(permissions.throttle ? { throttle: permissions.throttle } : {}),
    ...(permissions.cors ? { cors: permissions.cors } : {}),
  };
  return [{ name: 'permissions', config: Object.freeze(route) }];
}
