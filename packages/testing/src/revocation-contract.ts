import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowSeconds, type RevocationEvent, type RevocationSubscriber } from '@flotilla/kit/contracts';

/**
 * How long a published revocation may take to reach a receiver: a gateway denies a
 * revoked token within this (ARCHITECTURE.md: "gateways deny the token at once").
 */
export const REVOCATION_DELIVERY_MS = 1000;

/** A receiving end under test: a subscriber and what it does with what it hears. */
export interface RevocationReceiver {
  /** Whether this event has taken effect at the receiver (heard, or denied by its denylist). */
  heard(event: RevocationEvent): boolean;
  /** How many events have taken effect so far. */
  readonly count: number;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** The two ends of one transport, as a test wires them. */
export interface RevocationEnds {
  /** Publishes as the sending end does; resolves with the event as sent (the sender may stamp `at`). */
  publish(event: Omit<RevocationEvent, 'at'>): Promise<RevocationEvent>;
  /** Puts raw text on the wire, as a stranger or a broken publisher could. */
  publishRaw(text: string): Promise<void>;
  /** A new receiving end, started. */
  receiver(): Promise<RevocationReceiver>;
  close(): Promise<void>;
}

/** One check of the contract; every transport passes every one. */
export interface RevocationContractCase {
  name: string;
  run(ends: RevocationEnds): Promise<void>;
}

/** A marker of this test process in every id the contract makes up. */
const RUN = `contract-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** Whether an event is one this process's contract run published (on a transport shared with other tests). */
export function isContractEvent(event: RevocationEvent): boolean {
  return [event.jti, event.grantId, event.sub, event.clientId].some((id) => id?.startsWith(RUN));
}

/**
 * A receiver that records what the subscriber delivers; `heard` compares whole events.
 * `only` keeps the events that count (say, {@link isContractEvent} on a shared channel).
 *
 * @example
 * receiver: () => recordingReceiver(bus.subscriber())
 */
export async function recordingReceiver(
  subscriber: RevocationSubscriber,
  only: (event: RevocationEvent) => boolean = () => true,
): Promise<RevocationReceiver> {
  const events: RevocationEvent[] = [];
  await subscriber.start((event) => {
    if (only(event)) events.push(event);
  });
  return {
    heard: (event) => events.some((e) => isDeepStrictEqual(e, event)),
    get count() {
      return events.length;
    },
    get connected() {
      return subscriber.connected;
    },
    close: () => subscriber.close(),
  };
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, ms = REVOCATION_DELIVERY_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await sleep(10);
  }
}

const unique = (what: string) => `${RUN}-${what}-${Math.random().toString(36).slice(2, 10)}`;

/** Wrong on the wire: each must be dropped by every receiver (the `at` as a date string is the old drift). */
const MALFORMED = [
  'not json',
  '{"type":"token","at":1700000000}',
  '{"type":"nonsense","jti":"x","at":1700000000}',
  '{"type":"user","sub":"u-iso","at":"2026-01-01T00:00:00Z"}',
  '{"type":"grant","grantId":"","at":1700000000}',
  '[]',
];

/**
 * The revocation contract: what every transport (in-process, SSE, Redis) does, whichever
 * end is the real one. Run it from the publishing end (auth) and the receiving end (the
 * gateway's denylist), for example:
 *
 * @example
 * for (const c of revocationContract()) it(c.name, async () => {
 *   const ends = await openEnds();
 *   try { await c.run(ends); } finally { await ends.close(); }
 * });
 */
export function revocationContract(): RevocationContractCase[] {
  return [
    {
      name: 'delivers a published event to every receiver',
      async run(ends) {
        const a = await ends.receiver();
        const b = await ends.receiver();
        assert.ok(a.connected && b.connected, 'receivers are connected once started');
        const event = await ends.publish({ type: 'grant', grantId: unique('g'), sub: 'u1', clientId: 'spa' });
        await until('both receivers hear the event', () => a.heard(event) && b.heard(event));
        await Promise.all([a.close(), b.close()]);
      },
    },
    {
      name: 'delivers every type: token, grant, user and client',
      async run(ends) {
        const r = await ends.receiver();
        const sent = [
          await ends.publish({ type: 'token', jti: unique('j') }),
          await ends.publish({ type: 'grant', grantId: unique('g') }),
          await ends.publish({ type: 'user', sub: unique('u') }),
          await ends.publish({ type: 'client', clientId: unique('c') }),
        ];
        await until('every type is heard', () => sent.every((e) => r.heard(e)));
        for (const e of sent)
          assert.ok(Number.isInteger(e.at) && e.at <= nowSeconds() + 1, 'at is a NumericDate');
        await r.close();
      },
    },
    {
      name: 'drops malformed events and goes on delivering',
      async run(ends) {
        const r = await ends.receiver();
        const before = r.count;
        for (const text of MALFORMED) await ends.publishRaw(text);
        const good = await ends.publish({ type: 'token', jti: unique('after-bad') });
        await until('the good event after the bad ones is heard', () => r.heard(good));
        assert.equal(r.count, before + 1, 'only the well-formed event took effect');
        await r.close();
      },
    },
    {
      name: 'a closed receiver hears nothing more, the others do',
      async run(ends) {
        const closed = await ends.receiver();
        const open = await ends.receiver();
        await closed.close();
        assert.equal(closed.connected, false, 'a closed receiver is not connected');
        const count = closed.count;
        const event = await ends.publish({ type: 'token', jti: unique('after-close') });
        await until('the open receiver hears the event', () => open.heard(event));
        // Delivery is over once the open receiver heard it; give stragglers one more turn.
        await sleep(50);
        assert.equal(closed.count, count, 'the closed receiver heard nothing');
        assert.equal(closed.heard(event), false);
        await open.close();
      },
    },
  ];
}
