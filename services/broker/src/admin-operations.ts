import { type AuditEvent, FlotillaError } from '@flotilla/kit';
import {
  type AdminDeadLetter,
  type AdminQueue,
  type AdminSource,
  type ReplayResult,
  subscriptionOf,
  subscriptionQueue,
} from '@flotilla/kit/contracts';
import type { BusAdminAction, BusAuthz, BusResource, Caller } from './authz/bus-authz.js';
import type { DeliveryEngine } from './delivery/delivery-engine.js';
import type { BrokerMetrics } from './metrics.js';
import type { AdminStore } from './store/admin-store.js';
import type { Depths } from './store/depths.js';

/** What a broker queue is decided on: its own `Queue`, or the `Topic` a subscription copies. */
function resourceOf(queue: string): BusResource {
  const sub = subscriptionOf(queue);
  return sub ? { type: 'Topic', id: sub.topic } : { type: 'Queue', id: queue };
}

function queueOf(source: AdminSource): string {
  return 'queue' in source ? source.queue : subscriptionQueue(source.topic, source.group);
}

const withSource = (queue: string) => ({ queue, ...(subscriptionOf(queue) ?? {}) });

/**
 * The operator's view of the broker (`/v1/admin/*`): depths and dead letters
 * (`bus:Inspect`), replays (`bus:Replay`), each decided on the queue or topic — default
 * deny, so no fleet service may — and each audited with the caller's identity. A listing
 * shows only what the caller may inspect, and is refused when that is nothing at all.
 */
export class BrokerAdmin {
  constructor(
    private readonly store: AdminStore,
    private readonly engine: DeliveryEngine,
    private readonly authz: BusAuthz,
    private readonly metrics: BrokerMetrics,
    private readonly depths: Depths,
    private readonly dead: Depths,
    private readonly audit: (event: AuditEvent) => Promise<unknown>,
  ) {}

  async queues(caller: Caller): Promise<AdminQueue[]> {
    const subs = (await this.store.subscriptions()).map((s) => subscriptionQueue(s.topic, s.service));
    const all = await this.store.queues(subs);
    const mine = this.#visible(caller, 'bus:Inspect', all, (q) => q.queue);
    await this.#audited(caller, 'bus.inspect', 'queues', { queues: mine.length });
    return mine.map((q) => ({ ...q, ...withSource(q.queue) }));
  }

  async deadLetters(
    caller: Caller,
    source: AdminSource | undefined,
    limit: number,
  ): Promise<AdminDeadLetter[]> {
    const queue = source && queueOf(source);
    if (queue) this.authz.requireAdmin(caller, 'bus:Inspect', resourceOf(queue));
    const rows = this.#visible(
      caller,
      'bus:Inspect',
      await this.store.deadLetters(queue, limit),
      (d) => d.queue,
    );
    await this.#audited(caller, 'bus.inspect', `dead-letters ${queue ?? '*'}`, { listed: rows.length });
    return rows.map((d) => ({
      id: d.id,
      ...withSource(d.queue),
      type: d.type ?? '-',
      ...(d.messageId ? { messageId: d.messageId } : {}),
      sender: d.sender,
      reason: d.lastError,
      time: d.deadAt.toISOString(),
      attempts: d.attempts,
    }));
  }

  /** One dead letter back to its queue; an unknown id is 404. */
  async replayOne(caller: Caller, id: string): Promise<ReplayResult> {
    const queue = await this.store.deadLetterQueue(id);
    if (!queue) throw new FlotillaError('FLT_NOT_FOUND', `no dead letter ${id}`);
    return this.#replay(caller, queue, id);
  }

  replayAll(caller: Caller, source: AdminSource): Promise<ReplayResult> {
    return this.#replay(caller, queueOf(source), undefined);
  }

  async #replay(caller: Caller, queue: string, id: string | undefined): Promise<ReplayResult> {
    this.authz.requireAdmin(caller, 'bus:Replay', resourceOf(queue));
    const moved = await this.store.replay(queue, id, new Date());
    // Another replay took it between the look-up and the move.
    if (id !== undefined && moved.length === 0)
      throw new FlotillaError('FLT_NOT_FOUND', `no dead letter ${id}`);
    if (moved.length) {
      this.depths.add(queue, moved.length);
      this.dead.remove(queue, moved.length);
      this.metrics.count('replayed', queue, caller.service, moved.length);
      this.engine.wake(queue);
    }
    await this.#audited(caller, 'bus.replay', queue, {
      replayed: moved.map((m) => m.deadId),
    });
    return { replayed: moved.map((m) => ({ id: m.deadId, queue: m.queue, newId: m.id })) };
  }

  /** The items on queues the caller may act on; none at all of several is a denial. */
  #visible<T>(caller: Caller, action: BusAdminAction, items: T[], queue: (item: T) => string): T[] {
    const allowed = items.filter((i) => this.authz.allowsAdmin(caller, action, resourceOf(queue(i))));
    if (items.length > 0 && allowed.length === 0)
      throw new FlotillaError(
        'FLT_POLICY_DENIED',
        `${caller.service} may not ${action} on any queue or topic`,
      );
    return allowed;
  }

  async #audited(
    caller: Caller,
    action: string,
    target: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit({ actor: caller.id, action, target, outcome: 'success', details });
  }
}
