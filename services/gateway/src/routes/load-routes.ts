import { readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { PERMISSIONS_PATH } from '../permissions/permissions-route.js';
import { type CorsConfig, type GatewayRoutesConfig, GatewayRoutesSchema } from './route-schema.js';

/** The built-in policy for login and token endpoints: by source IP. */
export const AUTH_ENDPOINT_POLICY = 'auth-endpoint';

/**
 * Validates a routing configuration (unknown keys refused) and returns it frozen.
 * Errors name where the bad entry is, e.g. `/routes/2/auth`.
 */
export function validateRoutes(input: unknown, source = 'routes'): Readonly<GatewayRoutesConfig> {
  const first = Value.Errors(GatewayRoutesSchema, input).First();
  if (first) {
    throw new ConfigError('GATEWAY_ROUTES_FILE', `${source}: ${first.path || '/'} ${first.message}`);
  }
  const config = input as GatewayRoutesConfig;
  const seen = new Set<string>();
  const policies = config.throttle?.policies ?? {};
  config.routes.forEach((route, i) => {
    const at: At = (field, message) =>
      new ConfigError('GATEWAY_ROUTES_FILE', `${source}: /routes/${i}/${field} ${message}`);
    const params = patternParams(route.path, (m) => at('path', m));
    const upstreamParams = patternParams(route.upstreamPath, (m) => at('upstreamPath', m));
    for (const p of upstreamParams) {
      if (!params.includes(p)) throw at('upstreamPath', `uses ${p} which the path does not capture`);
    }
    const key = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
    if (seen.has(key)) throw at('path', `duplicates another ${route.method} route`);
    seen.add(key);
    if (route.throttle && route.throttle !== AUTH_ENDPOINT_POLICY && !(route.throttle in policies)) {
      throw at('throttle', `names no policy in /throttle/policies ("${route.throttle}")`);
    }
    if (route.auth === 'public' && route.scopes?.length) {
      throw at('scopes', 'needs auth: required (a public route has no token to check)');
    }
    if (route.auth === 'public' && route.action !== undefined) {
      throw at('action', 'needs auth: required (a public route has no caller to decide on)');
    }
    checkCors(route.cors, at);
  });
  checkPermissions(config, seen, policies, source);
  return deepFreeze(structuredClone(config));
}

type At = (field: string, message: string) => ConfigError;

function checkCors(cors: CorsConfig | undefined, at: At): void {
  if (cors?.credentials && cors.origins.includes('*')) {
    throw at('cors/origins', 'must list exact origins when credentials is true');
  }
  cors?.origins.forEach((o, j) => {
    if (o !== '*' && !/^https?:\/\/[^/?#\s]+$/i.test(o)) {
      throw at(`cors/origins/${j}`, `must be an origin like https://app.example (got "${o}")`);
    }
  });
}

/** The built-in `POST /api/permissions`, when on: its throttle and CORS as a route's, and its path free. */
function checkPermissions(
  config: GatewayRoutesConfig,
  seen: ReadonlySet<string>,
  policies: Record<string, unknown>,
  source: string,
): void {
  const permissions = config.permissions;
  if (permissions?.enabled === false) return;
  const at: At = (field, message) =>
    new ConfigError('GATEWAY_ROUTES_FILE', `${source}: /permissions/${field} ${message}`);
  if (seen.has(`POST ${PERMISSIONS_PATH}`)) {
    throw new ConfigError(
      'GATEWAY_ROUTES_FILE',
      `${source}: a route takes POST ${PERMISSIONS_PATH}, the gateway's own endpoint (turn that off with permissions: { enabled: false })`,
    );
  }
  const throttle = permissions?.throttle;
  if (throttle && throttle !== AUTH_ENDPOINT_POLICY && !(throttle in policies)) {
    throw at('throttle', `names no policy in /throttle/policies ("${throttle}")`);
  }
  checkCors(permissions?.cors, at);
}

/** Reads and validates `GATEWAY_ROUTES_FILE` (`.json`, else YAML). */
export function loadRoutesFile(path: string): Readonly<GatewayRoutesConfig> {
  let data: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      'GATEWAY_ROUTES_FILE',
      `GATEWAY_ROUTES_FILE: cannot read ${path} (${(err as Error).message})`,
    );
  }
  return validateRoutes(data, path);
}

function patternParams(pattern: string, fail: (m: string) => Error): string[] {
  const names: string[] = [];
  const segments = pattern.split('/').slice(1);
  segments.forEach((s, i) => {
    if (s === '' && i !== segments.length - 1) throw fail('has an empty segment');
    if (s === '.' || s === '..') throw fail('has a dot segment');
    if (s === '*') {
      if (i !== segments.length - 1) throw fail('may use * only as the last segment');
      names.push('*');
    } else if (s.startsWith(':')) {
      const name = s.slice(1);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw fail(`has a bad parameter name "${s}"`);
      if (names.includes(name)) throw fail(`repeats parameter ${name}`);
      names.push(name);
    } else if (s.includes('%') || s.includes('*') || s.includes(':')) {
      throw fail(`has a literal segment with a reserved character ("${s}")`);
    }
  });
  return names;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
