import { isIP } from 'node:net';
import type { PolicyDecider } from '@flotilla/kit';
import {
  Authorizer,
  type DecisionLogEntry,
  type EntityInput,
  loadPolicies,
  type PolicyWatcher,
  watchPolicies,
} from '@flotilla/policy';
import type { Principal } from '../auth/principal.js';
import type { RouteDecider, RouteDecision, RouteRequest } from './route-decider.js';

const PUBLIC_ROUTE: RouteDecision = Object.freeze({
  decision: 'allow',
  reasons: Object.freeze(['public route']),
  policies: Object.freeze([]),
});
// Routes times source addresses one caller is seen with before its memo starts over.
const MAX_ALLOWS_PER_CALLER = 64;

/**
 * What the decider needs of an engine: decisions, and a version that changes with the set
 * (the kit's `PolicyDecider`: an `Authorizer`, or the service's policies in force).
 */
export type PolicyEngine = PolicyDecider;

export interface CedarDeciderOptions {
  /** The policy directory (`*.cedar` and `schema.cedarschema`). */
  dir: string;
  /** Reload when a policy file or the schema changes (default true). */
  watch?: boolean;
  /** A reload failed: the previous policies stay in force. */
  onReloadError?: (err: unknown) => void;
  onReload?: (version: number) => void;
  /** Every deny, as the engine logs it. */
  onDecision?: (entry: DecisionLogEntry) => void;
}

/**
 * The gateway's policy decision point on `@flotilla/policy` (Cedar). For an authenticated
 * request it asks whether `User::"<sub>"` (attributes `roles`, `mfa`; member of each
 * `Role::"<role>"`) or `Client::"<client_id>"` (`scopes`) may do the route's action
 * (`Action::"video:Read"`; `Action::"http:<METHOD>"` for a route that names none) on
 * `Route::"<METHOD> <pattern>"` (`method`, `path`), with context `{ mfa, sourceIp }`.
 * Default deny; an evaluation error (an action the schema does not declare for `Route`,
 * say) denies too. Public routes carry no principal and are not asked about.
 *
 * @example
 * const policy = await CedarDecider.load({ dir: 'policies' });
 * policy.decide(request); // → { decision: 'deny', reasons: [...], policies: [...] }
 */
export class CedarDecider implements RouteDecider {
  readonly #engine: PolicyEngine;
  readonly #watcher: PolicyWatcher | undefined;
  /**
   * Allows already decided for a caller, keyed by policy set version, route and action, MFA
   * and source address: everything the Cedar request is built from besides the principal,
   * whose object the verified-token cache hands out again for the same token (and which is
   * frozen); the engine's own entity store is never changed here, and a reload bumps the
   * version. A hit skips building entities and the engine's own cache key. Entries go with
   * the principal.
   */
  readonly #allowed = new WeakMap<Principal, Allows>();
  readonly #schema: (() => string) | undefined;

  private constructor(
    engine: PolicyEngine,
    watcher: PolicyWatcher | undefined,
    schema: (() => string) | undefined,
  ) {
    this.#engine = engine;
    this.#watcher = watcher;
    this.#schema = schema;
  }

  /** Loads and validates the directory; throws `PolicyError` naming file and line. */
  static async load(opts: CedarDeciderOptions): Promise<CedarDecider> {
    const engine = new Authorizer(await loadPolicies({ dir: opts.dir }), {
      ...(opts.onDecision ? { onDecision: opts.onDecision } : {}),
    });
    const watcher =
      opts.watch === false
        ? undefined
        : watchPolicies(opts.dir, engine, {
            ...(opts.onReloadError ? { onError: opts.onReloadError } : {}),
            ...(opts.onReload ? { onReload: opts.onReload } : {}),
          });
    return new CedarDecider(engine, watcher, () => engine.compiled.sources.schema);
  }

  /**
   * Decides with policies kept elsewhere: the service's own set in force (`ctx.policy`: the
   * control plane's signed bundle), whose version changes with every set applied.
   */
  static over(engine: PolicyEngine): CedarDecider {
    return new CedarDecider(engine, undefined, undefined);
  }

  /**
   * The Cedar schema in force, when this decider loaded the policies itself (`load`);
   * undefined over an engine kept elsewhere (`over`).
   */
  get schema(): string | undefined {
    return this.#schema?.();
  }

  /** The policy set version in force (increments on every reload). */
  get version(): number {
    return this.#engine.version;
  }

  decide({ principal, action, resource, context }: RouteRequest): RouteDecision {
    if (!principal) return PUBLIC_ROUTE;
    const version = this.#engine.version;
    const route = routeKey(resource, action);
    const mfa = context.mfa ? 1 : 0;
    let allows = this.#allowed.get(principal);
    // Looked up without building a key string: route, then source address.
    const hit =
      allows?.version === version ? allows.byRoute[mfa].get(route)?.get(context.sourceIp) : undefined;
    if (hit) return hit;
    const decision = this.#decide(principal, action, resource, context);
    // Only clean allows are kept: a deny is rare, and the engine logs every deny it answers.
    if (decision.decision === 'allow' && !decision.errors?.length) {
      if (!allows || allows.version !== version || allows.count >= MAX_ALLOWS_PER_CALLER) {
        allows = {
          version,
          count: 0,
          byRoute: [
            new Map<string, Map<string, RouteDecision>>(),
            new Map<string, Map<string, RouteDecision>>(),
          ],
        };
        this.#allowed.set(principal, allows);
      }
      let byIp = allows.byRoute[mfa].get(route);
      if (!byIp) allows.byRoute[mfa].set(route, (byIp = new Map<string, RouteDecision>()));
      byIp.set(context.sourceIp, Object.freeze(decision));
      allows.count++;
    }
    return decision;
  }

  #decide(
    principal: Principal,
    action: string,
    resource: RouteRequest['resource'],
    context: RouteRequest['context'],
  ): RouteDecision {
    const method = resource.method === 'HEAD' ? 'GET' : resource.method;
    const routeUid = { type: 'Route', id: `${method} ${resource.path}` };
    const principalEntity: EntityInput =
      principal.type === 'Client'
        ? { uid: { type: 'Client', id: principal.clientId }, attrs: { scopes: [...principal.scopes] } }
        : {
            uid: { type: 'User', id: principal.sub },
            attrs: { roles: [...principal.roles], mfa: context.mfa },
            parents: principal.roles.map((role) => ({ type: 'Role', id: role })),
          };
    const cedarContext: Record<string, unknown> = { mfa: context.mfa };
    const ip = cedarIp(context.sourceIp);
    if (ip) cedarContext.sourceIp = { __extn: { fn: 'ip', arg: ip } };
    const d = this.#engine.decide({
      principal: principalEntity.uid,
      action: { type: 'Action', id: action },
      resource: routeUid,
      context: cedarContext,
      entities: [principalEntity, { uid: routeUid, attrs: { method, path: resource.path } }],
    });
    const reasons =
      d.errors.length > 0
        ? d.errors
        : d.reasons.length > 0
          ? d.reasons.map((id) => `${d.decision === 'allow' ? 'permitted' : 'forbidden'} by ${id}`)
          : d.decision === 'deny'
            ? ['no policy permits it']
            : [];
    return { decision: d.decision, reasons, policies: d.reasons, errors: d.errors };
  }

  close(): void {
    this.#watcher?.close();
  }
}

/** One caller's allows under one policy set version: by MFA (0/1), route and action, then source address. */
interface Allows {
  version: number;
  count: number;
  byRoute: [Map<string, Map<string, RouteDecision>>, Map<string, Map<string, RouteDecision>>];
}

// `<action> <METHOD> <pattern>` per resource object: the gateway passes one frozen object per
// route, always with the same action; a key is made again only for another action.
const ROUTE_KEYS = new WeakMap<RouteRequest['resource'], { action: string; key: string }>();
function routeKey(resource: RouteRequest['resource'], action: string): string {
  const known = ROUTE_KEYS.get(resource);
  if (known?.action === action) return known.key;
  const key = `${action} ${resource.method} ${resource.path}`;
  ROUTE_KEYS.set(resource, { action, key });
  return key;
}

/**
 * The source address in a form Cedar's `ip()` accepts, or undefined (then left out of the
 * context; policies test `context has sourceIp`). Cedar refuses IPv4-mapped IPv6 and zone ids.
 */
export function cedarIp(address: string): string | undefined {
  let ip = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) ip = mapped[1];
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 6 && !ip.includes('.')) return ip;
  return undefined;
}
