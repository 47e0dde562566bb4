import type { DecisionRequest } from './authorizer.js';
import { PolicyError } from './errors.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ServiceCall {
  /** The caller's service name, from the peer certificate's verified SPIFFE ID. */
  callerService: string;
  targetService: string;
  method: string;
  /** The route pattern that matched, e.g. `/videos/:id` (not the concrete path). */
  routePattern: string;
  /** The caller's SPIFFE ID; defaults to `spiffe://<trustDomain>/svc/<callerService>`. */
  callerSpiffeId?: string;
  trustDomain?: string;
  context?: Record<string, unknown>;
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// Route patterns become part of a Cedar string literal: no quotes, backslashes or controls.
const ROUTE_PATTERN = /^\/[\x21\x23-\x5b\x5d-\x7e]*$/;

/** The Endpoint id for one route of one service: `metadata GET /videos/:id`. */
export function endpointId(service: string, method: string, routePattern: string): string {
  const m = method.toUpperCase();
  if (!SERVICE_NAME.test(service)) throw bad(`invalid service name "${service}"`);
  if (!(HTTP_METHODS as readonly string[]).includes(m)) throw bad(`unsupported HTTP method "${method}"`);
  if (!ROUTE_PATTERN.test(routePattern)) throw bad(`invalid route pattern "${routePattern}"`);
  return `${service} ${m} ${routePattern}`;
}

/**
 * The Cedar request for an inbound mTLS call, entities included, for `Authorizer.decide`.
 *
 * @example
 * const req = serviceCallRequest({ callerService: 'history', targetService: 'metadata', method: 'GET', routePattern: '/videos/:id' });
 * engine.decide(req).decision; // 'allow' with the fleet policies
 */
export function serviceCallRequest(call: ServiceCall): DecisionRequest {
  if (!SERVICE_NAME.test(call.callerService)) throw bad(`invalid service name "${call.callerService}"`);
  const method = call.method.toUpperCase();
  const id = endpointId(call.targetService, method, call.routePattern);
  const spiffeId =
    call.callerSpiffeId ?? `spiffe://${call.trustDomain ?? 'flotilla.local'}/svc/${call.callerService}`;
  const principal = { type: 'Service', id: call.callerService };
  const resource = { type: 'Endpoint', id };
  return {
    principal,
    action: { type: 'Action', id: `http:${method}` },
    resource,
    context: call.context ?? {},
    entities: [
      { uid: principal, attrs: { spiffeId } },
      { uid: resource, attrs: { service: call.targetService, method, path: call.routePattern } },
    ],
  };
}

/** Services' declared outbound calls: `{ history: { calls: [{ service: 'metadata', method: 'GET', path: '/videos/:id' }] } }`. */
export type AllowList = Record<
  string,
  { calls: ReadonlyArray<{ service: string; method: string; path: string }> }
>;

/**
 * Turns a declarative allow-list into Cedar permits (one per call, with an `@id` that
 * names it), to be added to the policy sources as e.g. `allow-list.cedar`.
 *
 * @example
 * sources.files['allow-list.cedar'] = allowListToPolicies({ history: { calls: [{ service: 'metadata', method: 'GET', path: '/videos/:id' }] } });
 */
export function allowListToPolicies(allowList: AllowList): string {
  const out: string[] = ["// Generated from the services' declared calls. Do not edit by hand."];
  for (const caller of Object.keys(allowList).sort()) {
    if (!SERVICE_NAME.test(caller)) throw bad(`invalid service name "${caller}"`);
    const calls: unknown = allowList[caller]?.calls;
    if (!Array.isArray(calls)) throw bad(`allow-list entry "${caller}" needs a calls list`);
    for (const c of calls as AllowList[string]['calls']) {
      const id = endpointId(c.service, c.method, c.path);
      const method = c.method.toUpperCase();
      out.push(
        `@id("allow-list:${caller} -> ${id}")\n` +
          `permit (\n  principal == Service::"${caller}",\n  action == Action::"http:${method}",\n` +
          `  resource == Endpoint::"${id}"\n);`,
      );
    }
  }
  return `${out.join('\n\n')}\n`;
}

function bad(message: string): PolicyError {
  return new PolicyError('FLT_POLICY_ENTITY_INVALID', message);
}
