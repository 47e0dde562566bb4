import { FlotillaError, type PolicyDecider } from '@flotilla/kit';

/** The Cedar actions of the bus (policies/schema.cedarschema). */
export type BusAction = 'bus:Send' | 'bus:Consume' | 'bus:Publish' | 'bus:Subscribe';

/** Who is calling: the service in the client certificate. */
export interface Caller {
  service: string;
  /** Its SPIFFE ID: the sender stored on every message it sends. */
  id: string;
}

const RESOURCE: Record<BusAction, 'Queue' | 'Topic'> = {
  'bus:Send': 'Queue',
  'bus:Consume': 'Queue',
  'bus:Publish': 'Topic',
  'bus:Subscribe': 'Topic',
};

/**
 * The broker's real gate. The kit's endpoint check lets fleet services reach the
 * broker's routes (`policies/broker.cedar`); here each call is decided on the queue or
 * topic: may `Service::"<caller>"` do `bus:<Action>` on `Queue::"<name>"`? Default deny,
 * and no policy engine denies everything.
 */
export class BusAuthz {
  constructor(private readonly policy: () => PolicyDecider | undefined) {}

  allows(caller: Caller, action: BusAction, name: string): boolean {
    const engine = this.policy();
    if (!engine) return false;
    const principal = { type: 'Service', id: caller.service };
    const resource = { type: RESOURCE[action], id: name };
    const decision = engine.decide({
      principal,
      action: { type: 'Action', id: action },
      resource,
      context: {},
      entities: [
        { uid: principal, attrs: { spiffeId: caller.id } },
        { uid: resource, attrs: {} },
      ],
    });
    return decision.decision === 'allow' && decision.errors.length === 0;
  }

  require(caller: Caller, action: BusAction, name: string): void {
    if (!this.allows(caller, action, name))
      throw new FlotillaError(
        'FLT_POLICY_DENIED',
        `${caller.service} may not ${action} on ${RESOURCE[action]}::"${name}"`,
      );
  }
}
