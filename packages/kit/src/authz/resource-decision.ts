import type { PolicyDecider } from '../service/context.js';

/**
 * IAM for a service over a platform resource: may `Service::"<service>"` do `action` on
 * `<type>::"<id>"` (a `Key`, a `Queue`, a `Topic`) under the fleet's policies? Default
 * deny: no policy engine (no workload identity), an evaluation error or no permit all
 * answer false. The one place the KMS, the broker and the kit's bus ask.
 *
 * @example
 * serviceMay(ctx.policy, { service: 'storage', spiffeId }, 'kms:Decrypt', { type: 'Key', id: 'storage' });
 */
export function serviceMay(
  engine: PolicyDecider | undefined,
  caller: { service: string; spiffeId: string },
  action: string,
  resource: { type: string; id: string },
): boolean {
  if (!engine) return false;
  const principal = { type: 'Service', id: caller.service };
  const decision = engine.decide({
    principal,
    action: { type: 'Action', id: action },
    resource,
    context: {},
    entities: [
      { uid: principal, attrs: { spiffeId: caller.spiffeId } },
      { uid: resource, attrs: {} },
    ],
  });
  return decision.decision === 'allow' && decision.errors.length === 0;
}
