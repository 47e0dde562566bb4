import { BUS_RESOURCE, type BusAction, FlotillaError, type PolicyDecider, serviceMay } from '@flotilla/kit';

export type { BusAction };

/** The operator's actions, decided on the queue or on the topic a subscription copies. */
export type BusAdminAction = 'bus:Inspect' | 'bus:Replay';
export type BusResource = { type: 'Queue' | 'Topic'; id: string };

/** Who is calling: the service in the client certificate. */
export interface Caller {
  service: string;
  /** Its SPIFFE ID: the sender stored on every message it sends. */
  id: string;
}

/**
 * The broker's real gate. The kit's endpoint check lets fleet services reach the
 * broker's routes (`policies/broker.cedar`); here each call is decided on the queue or
 * topic: may `Service::"<caller>"` do `bus:<Action>` on `Queue::"<name>"`? Default deny,
 * and no policy engine denies everything.
 */
export class BusAuthz {
  constructor(private readonly policy: () => PolicyDecider | undefined) {}

  allows(caller: Caller, action: BusAction, name: string): boolean {
    return serviceMay(this.policy(), { service: caller.service, spiffeId: caller.id }, action, {
      type: BUS_RESOURCE[action],
      id: name,
    });
  }

  /** May `caller` do an administration action on `resource`? Default deny, as every bus action. */
  allowsAdmin(caller: Caller, action: BusAdminAction, resource: BusResource): boolean {
    return serviceMay(this.policy(), { service: caller.service, spiffeId: caller.id }, action, resource);
  }

  requireAdmin(caller: Caller, action: BusAdminAction, resource: BusResource): void {
    if (!this.allowsAdmin(caller, action, resource))
      throw new FlotillaError(
        'FLT_POLICY_DENIED',
        `${caller.service} may not ${action} on ${resource.type}::"${resource.id}"`,
      );
  }

  require(caller: Caller, action: BusAction, name: string): void {
    if (!this.allows(caller, action, name))
      throw new FlotillaError(
        'FLT_POLICY_DENIED',
        `${caller.service} may not ${action} on ${BUS_RESOURCE[action]}::"${name}"`,
      );
  }
}
