import type { Fleet } from '../fleet/schema.js';

/**
 * Who may call whom, from the fleet file: each service's declared calls, and the
 * gateway's calls to the services its routes point at. Everything else is denied.
 */
export function allowedCalls(
  fleet: Fleet,
): Record<string, { calls: Array<{ service: string; method: string; path: string }> }> {
  const out: Record<string, { calls: Array<{ service: string; method: string; path: string }> }> = {};
  for (const s of fleet.services) if (s.calls?.length) out[s.name] = { calls: s.calls };
  out.gateway = {
    calls: fleet.gateway.routes
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .map((r) => ({ service: r.service, method: r.method, path: r.upstreamPath })),
  };
  return out;
}

/** The gateway's routes file, from the fleet file's routes. */
export function gatewayRoutes(fleet: Fleet, webOrigin: string) {
  return {
    routes: fleet.gateway.routes.map((r) => ({
      method: r.method,
      path: r.path,
      service: r.service,
      upstreamPath: r.upstreamPath,
      auth: r.auth ?? 'required',
      ...(r.scopes ? { scopes: r.scopes } : {}),
      ...(r.action ? { action: r.action } : {}),
      ...(r.throttle ? { throttle: r.throttle } : {}),
      ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
      cors: { origins: [webOrigin], credentials: false },
    })),
    // The gateway's own POST /api/permissions, for the web app (on unless turned off).
    permissions:
      fleet.gateway.permissions === false
        ? { enabled: false }
        : { cors: { origins: [webOrigin], credentials: false } },
  };
}
