import { Redis } from 'ioredis';
import {
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationEvent,
  type RevocationSubscriber,
  SUBJECT_FIELD,
} from './events.js';

export interface RedisSubscriberOptions {
  url: string;
  /** How long a denied id is kept in Redis for replicas that start later, seconds. */
  ttlSec: number;
  channel?: string;
  keyPrefix?: string;
}

/**
 * Hears revocations on the auth server's Redis channel. Every replica subscribes; each
 * also writes what it hears to `flotilla:denylist:<type>:<id>` with a TTL, and a replica
 * that starts reads those keys after subscribing (subscribe first, then read, so no event
 * falls between the two).
 */
export class RedisRevocationSubscriber implements RevocationSubscriber {
  readonly #opts: Required<RedisSubscriberOptions>;
  #sub: Redis | undefined;
  #store: Redis | undefined;

  constructor(opts: RedisSubscriberOptions) {
    this.#opts = { channel: REVOCATION_CHANNEL, keyPrefix: 'flotilla:denylist:', ...opts };
  }

  get connected(): boolean {
    return this.#sub?.status === 'ready';
  }

  async start(onEvent: (event: RevocationEvent) => void): Promise<void> {
    const { url, channel, keyPrefix, ttlSec } = this.#opts;
    const sub = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    const store = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.#sub = sub;
    this.#store = store;
    // ioredis reconnects by itself; errors are reported through `connected` (readiness).
    sub.on('error', () => undefined);
    store.on('error', () => undefined);
    sub.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      const event = decode(message);
      if (!event) return;
      onEvent(event);
      const id = event[SUBJECT_FIELD[event.type]];
      store
        .set(`${keyPrefix}${event.type}:${id}`, JSON.stringify(event), 'EX', ttlSec)
        .catch(() => undefined);
    });
    await Promise.all([sub.connect(), store.connect()]);
    await sub.subscribe(channel);
    let cursor = '0';
    do {
      const [next, keys] = await store.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      for (const value of await store.mget(...keys)) {
        const event = value ? decode(value) : undefined;
        if (event) onEvent(event);
      }
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#sub?.quit(), this.#store?.quit()]);
  }
}

function decode(text: string): RevocationEvent | undefined {
  try {
    return parseRevocationEvent(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Publishes an event as the auth server does (tests, tooling). */
export async function publishRevocation(
  redis: Redis,
  event: RevocationEvent,
  channel = REVOCATION_CHANNEL,
): Promise<void> {
  await redis.publish(channel, JSON.stringify(event));
}
