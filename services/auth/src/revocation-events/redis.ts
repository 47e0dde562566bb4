import { Redis } from 'ioredis';
import {
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationBus,
  type RevocationEvent,
  type Subscription,
} from './types.js';

/** Revocation events on Redis pub/sub, channel `flotilla:revocations` (when `REDIS_URL` is set). */
export class RedisRevocationBus implements RevocationBus {
  private readonly publisher: Redis;
  private readonly subscribers = new Set<Redis>();

  constructor(url: string) {
    this.publisher = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
  }

  async publish(event: RevocationEvent): Promise<void> {
    await this.publisher.publish(REVOCATION_CHANNEL, JSON.stringify(event));
  }

  async subscribe(onEvent: (event: RevocationEvent) => void): Promise<Subscription> {
    const sub = this.publisher.duplicate();
    this.subscribers.add(sub);
    return subscribeOn(sub, onEvent, async () => {
      this.subscribers.delete(sub);
      sub.disconnect();
    });
  }

  async close(): Promise<void> {
    for (const sub of this.subscribers) sub.disconnect();
    this.subscribers.clear();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }
}

/** Subscribes a dedicated connection to the channel; resolves once subscribed. */
export async function subscribeOn(
  sub: Redis,
  onEvent: (event: RevocationEvent) => void,
  close: () => Promise<void>,
): Promise<Subscription> {
  const listener = (channel: string, message: string) => {
    if (channel !== REVOCATION_CHANNEL) return;
    const event = parseRevocationEvent(message);
    if (event) onEvent(event);
  };
  sub.on('message', listener);
  await sub.subscribe(REVOCATION_CHANNEL);
  return {
    close: async () => {
      // Stop delivering at once, even if messages are still in flight on the socket.
      sub.off('message', listener);
      await sub.unsubscribe(REVOCATION_CHANNEL).catch(() => undefined);
      await close();
    },
  };
}
