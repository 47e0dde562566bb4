import type { RedisClientType } from 'redis';
import {
  assertRevocationEvent,
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationEvent,
  revokedId,
} from './event.js';
import type { RevocationPublisher, RevocationSubscriber } from './transport.js';

// The client as `createClient({ url })` makes it: no modules, RESP3.
type RedisClient = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 3>;

/**
 * A node-redis client for `url`, connected; loaded on first use: a process without
 * `REDIS_URL` never pays for the module (~2 MB). The first connection must succeed (it
 * rejects instead of retrying for ever); after that node-redis reconnects by itself, and
 * resubscribes. Errors are left to readiness (`isReady`): an unhandled `error` event
 * would end the process.
 */
async function connect(url: string, opts: { offlineQueue?: boolean } = {}): Promise<RedisClient> {
  const { createClient } = await import('redis');
  let connected = false;
  const client: RedisClient = createClient({
    url,
    disableOfflineQueue: opts.offlineQueue === false,
    socket: {
      reconnectStrategy: (retries, cause) => (connected ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
  });
  client.on('error', () => undefined);
  await client.connect();
  connected = true;
  return client;
}

/**
 * Publishes revocations on Redis pub/sub, channel `flotilla:revocations` (the auth
 * service, when `REDIS_URL` is set).
 *
 * @example
 * const publisher = new RedisRevocationPublisher(process.env.REDIS_URL);
 * await publisher.publish({ type: 'user', sub, at: nowSeconds() });
 */
export class RedisRevocationPublisher implements RevocationPublisher {
  readonly #url: string;
  readonly #channel: string;
  #client: Promise<RedisClient> | undefined;

  constructor(url: string, opts: { channel?: string } = {}) {
    this.#url = url;
    this.#channel = opts.channel ?? REVOCATION_CHANNEL;
  }

  async publish(event: RevocationEvent): Promise<void> {
    const valid = assertRevocationEvent(event);
    // Without the offline queue a publish fails at once while Redis is away, never hangs.
    this.#client ??= connect(this.#url, { offlineQueue: false }).catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    await (await this.#client).publish(this.#channel, JSON.stringify(valid));
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client).close().catch(() => undefined);
  }
}

export interface RedisSubscriberOptions {
  url: string;
  /** How long a denied id is kept in Redis for replicas that start later, seconds. */
  ttlSec: number;
  channel?: string;
  keyPrefix?: string;
}

/**
 * Hears revocations on the Redis channel. Every replica subscribes; each also writes what
 * it hears to `flotilla:denylist:<type>:<id>` with a TTL, and a replica that starts reads
 * those keys after subscribing (subscribe first, then read, so no event falls between).
 *
 * @example
 * const sub = new RedisRevocationSubscriber({ url: process.env.REDIS_URL, ttlSec: 86_400 });
 * await sub.start((event) => denylist.apply(event));
 */
export class RedisRevocationSubscriber implements RevocationSubscriber {
  readonly #opts: Required<RedisSubscriberOptions>;
  #sub: RedisClient | undefined;
  #store: RedisClient | undefined;

  constructor(opts: RedisSubscriberOptions) {
    this.#opts = { channel: REVOCATION_CHANNEL, keyPrefix: 'flotilla:denylist:', ...opts };
  }

  get connected(): boolean {
    return this.#sub?.isReady ?? false;
  }

  async start(onEvent: (event: RevocationEvent) => void): Promise<void> {
    const { url, channel, keyPrefix, ttlSec } = this.#opts;
    const clients = await Promise.allSettled([connect(url), connect(url)]);
    const [sub, store] = clients.map((c) => (c.status === 'fulfilled' ? c.value : undefined));
    if (!sub || !store) {
      await Promise.allSettled([sub?.close(), store?.close()]);
      throw clients.find((c) => c.status === 'rejected')?.reason;
    }
    this.#sub = sub;
    this.#store = store;
    await sub.subscribe(channel, (message) => {
      const event = parseRevocationEvent(message);
      if (!event) return;
      onEvent(event);
      store
        .set(`${keyPrefix}${event.type}:${revokedId(event)}`, JSON.stringify(event), {
          expiration: { type: 'EX', value: ttlSec },
        })
        .catch(() => undefined);
    });
    for await (const keys of store.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 500 })) {
      if (keys.length === 0) continue;
      for (const value of await store.mGet(keys)) {
        const event = value ? parseRevocationEvent(value) : undefined;
        if (event) onEvent(event);
      }
    }
  }

  async close(): Promise<void> {
    const clients = [this.#sub, this.#store];
    this.#sub = undefined;
    this.#store = undefined;
    // `close` stops delivery at once, even with messages still in flight on the socket.
    await Promise.allSettled(clients.map(async (c) => c?.close()));
  }
}
