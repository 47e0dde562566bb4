import { Authorizer, type Decision, type EntityInput, loadPolicies, watchPolicies } from '@flotilla/policy';
import type { AuditEvent } from '../audit/index.js';
import type { PolicyDecider } from '../service/index.js';
import { FlotillaError } from '../errors/index.js';
import type { User } from './user.js';
import { callerEntity } from './user-entity.js';

export interface UserPolicy {
  /** The policy's answer for `user` doing `action` on `resource` (default deny). */
  decide(user: User, action: string, resource: EntityInput): Decision;
  /** Whether the policy allows it; for filtering lists, without audit. */
  allows(user: User, action: string, resource: EntityInput): boolean;
  /** Throws 403 with `refusal` as detail, and records the denial in the audit trail, unless allowed. */
  require(user: User, action: string, resource: EntityInput, refusal: string): Promise<void>;
  close(): void;
}

export type UserPolicyOptions = {
  audit: (event: AuditEvent) => Promise<unknown>;
} & (
  | {
      /** Decide with the policies already in force in the service (`ctx.policy`: the signed bundle). */
      engine: PolicyDecider;
    }
  | {
      /** The fleet's policy directory (schema + `*.cedar`), for a service without a control plane. */
      dir: string;
      /** Reload when the files change (a set that fails to load never replaces a good one). */
      watch?: boolean;
      onReload?: (version: number) => void;
      onReloadError?: (err: unknown) => void;
    }
);

/**
 * Authorization of people inside a service: may this verified caller do `video:Delete`
 * on `Video::"42"`? Decided by the fleet's Cedar policies with the caller as principal
 * (see `callerEntity`); a broken policy set stops the start.
 *
 * @example
 * const policy = await openUserPolicy({ engine: ctx.policy, audit: ctx.audit });
 * await policy.require(user, 'video:Delete', { uid: { type: 'Video', id }, attrs: { owner } }, 'you may not delete this video');
 */
export async function openUserPolicy(opts: UserPolicyOptions): Promise<UserPolicy> {
  const { engine, watcher } =
    'engine' in opts ? { engine: opts.engine, watcher: undefined } : await fromDir(opts);

  const decide = (user: User, action: string, resource: EntityInput): Decision => {
    const principal = callerEntity(user);
    return engine.decide({
      principal: principal.uid,
      action,
      resource: resource.uid,
      entities: [principal, resource],
    });
  };

  return {
    decide,
    allows: (user, action, resource) => decide(user, action, resource).decision === 'allow',
    async require(user, action, resource, refusal) {
      const decision = decide(user, action, resource);
      if (decision.decision === 'allow') return;
      const uid = resource.uid;
      await opts.audit({
        actor: user.sub,
        action: 'policy.deny',
        target: typeof uid === 'string' ? uid : `${uid.type}::${JSON.stringify(uid.id)}`,
        outcome: 'denied',
        reason: `${action} not permitted`,
        details: { action, policies: [...decision.reasons], errors: [...decision.errors] },
      });
      throw new FlotillaError('FLT_FORBIDDEN', refusal);
    },
    close: () => watcher?.close(),
  };
}

async function fromDir(opts: Extract<UserPolicyOptions, { dir: string }>) {
  const engine = new Authorizer(await loadPolicies({ dir: opts.dir }));
  const watcher = opts.watch
    ? watchPolicies(opts.dir, engine, {
        ...(opts.onReload ? { onReload: opts.onReload } : {}),
        ...(opts.onReloadError ? { onError: opts.onReloadError } : {}),
      })
    : undefined;
  return { engine, watcher };
}
