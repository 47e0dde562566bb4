import type { AuditEvent } from '../audit/index.js';
import { serviceMay } from '../authz/resource-decision.js';
import { FlotillaError } from '../errors/index.js';
import type { PolicyDecider } from '../service/context.js';

export type BusAction = 'bus:Send' | 'bus:Publish' | 'bus:Consume' | 'bus:Subscribe';

/** The resource type each bus action is decided on. */
export const BUS_RESOURCE: Record<BusAction, 'Queue' | 'Topic'> = {
  'bus:Send': 'Queue',
  'bus:Consume': 'Queue',
  'bus:Publish': 'Topic',
  'bus:Subscribe': 'Topic',
};

/**
 * Who may use which queue and topic: the fleet's Cedar policies (`bus:Send` on
 * `Queue::"viewed"`, policies/schema.cedarschema). Default deny — no policy engine, an
 * evaluation error or no permit all deny — and every denial is audited before it is
 * raised.
 */
export class BusAuthz {
  constructor(
    private readonly policy: () => PolicyDecider | undefined,
    private readonly audit: (event: AuditEvent) => Promise<unknown>,
  ) {}

  allows(service: string, spiffeId: string, action: BusAction, name: string): boolean {
    return serviceMay(this.policy(), { service, spiffeId }, action, { type: BUS_RESOURCE[action], id: name });
  }

  /** Throws FLT_POLICY_DENIED (audited as `bus.deny`) unless the policies allow. */
  async require(service: string, spiffeId: string, action: BusAction, name: string): Promise<void> {
    if (this.allows(service, spiffeId, action, name)) return;
    const target = `${BUS_RESOURCE[action]}::"${name}"`;
    const why = this.policy() ? 'no policy permits it' : 'no policy engine (no workload identity)';
    await this.audit({
      actor: spiffeId,
      action: 'bus.deny',
      target,
      outcome: 'denied',
      reason: `${action}: ${why}`,
    });
    throw new FlotillaError('FLT_POLICY_DENIED', `${service} may not ${action} on ${target}`);
  }
}
