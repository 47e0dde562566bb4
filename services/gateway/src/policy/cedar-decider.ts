import { isIP } from 'node:net';
import {
  Authorizer,
  type DecisionLogEntry,
  type EntityInput,
  loadPolicies,
  type PolicyWatcher,
  watchPolicies,
} from '@flotilla/policy';
import type { PolicyDecider, PolicyDecision, PolicyRequest } from './policy-decider.js';

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
 * `Role::"<role>"`) or `Client::"<client_id>"` (`scopes`) may do `http:<METHOD>` on
 * `Route::"<METHOD> <pattern>"` (`method`, `path`), with context `{ mfa, sourceIp }`.
 * Default deny; an evaluation error denies too. Public routes carry no principal and are
 * not asked about.
 *
 * @example
 * const policy = await CedarDecider.load({ dir: 'policies' });
 * policy.decide(request); // → { decision: 'deny', reasons: [...], policies: [...] }
 */
export class CedarDecider implements PolicyDecider {
  readonly #engine: Authorizer;
  readonly #watcher: PolicyWatcher | undefined;

  private constructor(engine: Authorizer, watcher: PolicyWatcher | undefined) {
    this.#engine = engine;
    this.#watcher = watcher;
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
    return new CedarDecider(engine, watcher);
  }

  /** The policy set version in force (increments on every reload). */
  get version(): number {
    return this.#engine.version;
  }

  decide({ principal, resource, context }: PolicyRequest): PolicyDecision {
    if (!principal) return { decision: 'allow', reasons: ['public route'], policies: [] };
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
      action: { type: 'Action', id: `http:${method}` },
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
