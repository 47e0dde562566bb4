import type { RouteRequest } from '../policy/route-decider.js';
import { routeAction } from './route-actions.js';
import type { RouteConfig } from './route-schema.js';
import { encodeSegment } from './normalise-path.js';

type Part = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'rest' };

/** A route compiled for matching, with what every request on it needs worked out once. */
export interface CompiledRoute {
  readonly id: string;
  /** What the policy decides on: the route's `action`, or `http:<METHOD>`. */
  readonly action: string;
  readonly config: RouteConfig;
  readonly parts: readonly Part[];
  readonly upstreamParts: readonly Part[];
  /** The policy decision's resource (one frozen object per route). */
  readonly resource: Readonly<RouteRequest['resource']>;
  /** `config.scopes`, or none. */
  readonly scopes: readonly string[];
  /** The upstream path when `upstreamPath` captures nothing. */
  readonly fixedUpstreamPath: string | undefined;
  /** The gateway answers this route itself, after every check, instead of forwarding it. */
  readonly builtin: BuiltinName | undefined;
}

/** The endpoints the gateway answers itself (`permissions/`). */
export type BuiltinName = 'permissions';

/** A route the gateway answers itself: its configuration, checked as any route's is. */
export interface BuiltinRoute {
  name: BuiltinName;
  config: RouteConfig;
}

const NO_SCOPES: readonly string[] = Object.freeze([]);

export type RouteMatch =
  | { kind: 'match'; route: CompiledRoute; params: Readonly<Record<string, string | readonly string[]>> }
  | { kind: 'method-not-allowed'; allow: readonly string[] }
  | { kind: 'not-found' };

function compile(pattern: string): Part[] {
  return pattern
    .split('/')
    .filter((s) => s !== '')
    .map((s): Part =>
      s === '*'
        ? { kind: 'rest' }
        : s.startsWith(':')
          ? { kind: 'param', name: s.slice(1) }
          : { kind: 'literal', value: s },
    );
}

function specificity(parts: readonly Part[]): number[] {
  // Literal before parameter before rest, segment by segment: `/a/new` wins over `/a/:id`.
  return parts.map((p) => (p.kind === 'literal' ? 0 : p.kind === 'param' ? 1 : 2));
}

function compareSpecificity(a: readonly Part[], b: readonly Part[]): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const x = sa[i] ?? 3;
    const y = sb[i] ?? 3;
    if (x !== y) return x - y;
  }
  return 0;
}

/**
 * Matches normalised paths against the configured routes. Matching is on decoded
 * segments; literals compare exactly (case-sensitive, RFC 3986 §6.2.2.1 leaves path case alone).
 */
export class RouteTable {
  readonly routes: readonly CompiledRoute[];

  constructor(routes: readonly RouteConfig[], builtins: readonly BuiltinRoute[] = []) {
    const all = [
      ...routes.map((config) => ({ config, builtin: undefined })),
      ...builtins.map((b) => ({ config: b.config, builtin: b.name })),
    ];
    this.routes = all
      .map(({ config, builtin }): CompiledRoute => {
        const id = config.id ?? `${config.method} ${config.path}`;
        const upstreamParts = compile(config.upstreamPath);
        return {
          id,
          action: routeAction(config),
          config,
          parts: compile(config.path),
          upstreamParts,
          resource: Object.freeze({
            type: 'Route',
            id,
            service: config.service,
            method: config.method,
            path: config.path,
          }),
          scopes: config.scopes ? Object.freeze([...config.scopes]) : NO_SCOPES,
          fixedUpstreamPath: upstreamParts.every((p) => p.kind === 'literal')
            ? `/${upstreamParts.map((p) => p.value).join('/')}`
            : undefined,
          builtin,
        };
      })
      .sort((a, b) => compareSpecificity(a.parts, b.parts));
  }

  match(method: string, segments: readonly string[]): RouteMatch {
    let allow: Set<string> | undefined;
    for (const route of this.routes) {
      const params = matchParts(route.parts, segments);
      if (!params) continue;
      const m = route.config.method;
      if (m === method || (m === 'GET' && method === 'HEAD')) return { kind: 'match', route, params };
      (allow ??= new Set<string>()).add(m);
      if (m === 'GET') allow.add('HEAD');
    }
    return allow ? { kind: 'method-not-allowed', allow: [...allow] } : NOT_FOUND;
  }
}

const NOT_FOUND: RouteMatch = Object.freeze({ kind: 'not-found' });

function matchParts(
  parts: readonly Part[],
  segments: readonly string[],
): Record<string, string | string[]> | undefined {
  const params: Record<string, string | string[]> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.kind === 'rest') {
      params['*'] = segments.slice(i);
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.kind === 'literal') {
      if (part.value !== segment) return undefined;
    } else {
      params[part.name] = segment;
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** Builds the upstream path from the route's `upstreamPath`, re-encoding every captured segment. */
export function upstreamPathFor(
  route: CompiledRoute,
  params: Readonly<Record<string, string | readonly string[]>>,
): string {
  if (route.fixedUpstreamPath !== undefined) return route.fixedUpstreamPath;
  const out: string[] = [];
  for (const part of route.upstreamParts) {
    if (part.kind === 'literal') out.push(part.value);
    else if (part.kind === 'param') out.push(encodeSegment(String(params[part.name] ?? '')));
    else {
      const rest = params['*'];
      if (Array.isArray(rest)) out.push(...rest.map((s: string) => encodeSegment(s)));
    }
  }
  return `/${out.join('/')}`;
}
