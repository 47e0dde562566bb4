import { randomUUID } from 'node:crypto';
import {
  recordingReceiver,
  type RevocationEnds,
  revocationContract,
  type RevocationReceiver,
} from '@flotilla/testing';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { describe, it } from 'vitest';
import { nowSeconds, REVOCATION_EVENTS_PATH, type RevocationEvent } from './event.js';
import { InProcessRevocations } from './in-process.js';
import { RedisRevocationPublisher, RedisRevocationSubscriber } from './redis.js';
import { serveRevocationEvents } from './sse-stream.js';
import { SseRevocationSubscriber } from './sse-subscriber.js';

/** Each transport's two ends as the contract provides them (auth and the gateway run it with theirs). */
const transports: Record<string, () => Promise<RevocationEnds>> = {
  async 'in-process'() {
    const bus = new InProcessRevocations();
    return {
      publish: (e) => publishOn(bus, e),
      publishRaw: async (text) => rawInProcess(bus, text),
      receiver: () => recordingReceiver(bus.subscriber()),
      close: () => bus.close(),
    };
  },
  async sse() {
    const bus = new InProcessRevocations();
    const app = Fastify();
    serveRevocationEvents(app, bus, { requirePeer: false });
    const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}${REVOCATION_EVENTS_PATH}`;
    const receivers: RevocationReceiver[] = [];
    return {
      publish: (e) => publishOn(bus, e),
      publishRaw: async (text) => rawInProcess(bus, text),
      receiver: async () => {
        const r = await recordingReceiver(new SseRevocationSubscriber({ url, reconnectMs: 50 }));
        receivers.push(r);
        return r;
      },
      close: async () => {
        await Promise.all(receivers.map((r) => r.close()));
        await app.close();
      },
    };
  },
};

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  transports.redis = async () => {
    // A channel and key prefix of this run only: other tests share the Redis.
    const channel = `flotilla:test:revocations:${randomUUID()}`;
    const keyPrefix = `${channel}:denylist:`;
    const publisher = new RedisRevocationPublisher(redisUrl, { channel });
    const raw = createClient({ url: redisUrl });
    await raw.connect();
    const receivers: RevocationReceiver[] = [];
    return {
      publish: (e) => publishOn(publisher, e),
      publishRaw: async (text) => void (await raw.publish(channel, text)),
      receiver: async () => {
        const sub = new RedisRevocationSubscriber({ url: redisUrl, ttlSec: 60, channel, keyPrefix });
        const r = await recordingReceiver(sub);
        receivers.push(r);
        return r;
      },
      close: async () => {
        await Promise.all(receivers.map((r) => r.close()));
        for await (const keys of raw.scanIterator({ MATCH: `${keyPrefix}*` }))
          if (keys.length) await raw.del(keys);
        await raw.close();
        await publisher.close();
      },
    };
  };
} else {
  console.warn('REDIS_URL is not set: the Redis transport is not checked');
}

async function publishOn(
  publisher: { publish(e: RevocationEvent): Promise<void> },
  e: Omit<RevocationEvent, 'at'>,
): Promise<RevocationEvent> {
  const event = { ...e, at: nowSeconds() };
  await publisher.publish(event);
  return event;
}

/** The in-process bus takes objects: what is not an event is refused before delivery. */
async function rawInProcess(bus: InProcessRevocations, text: string): Promise<void> {
  try {
    await bus.publish(JSON.parse(text) as RevocationEvent);
  } catch {
    // refused (FLT_VALIDATION) or not JSON: nothing is delivered
  }
}

for (const [name, open] of Object.entries(transports)) {
  describe(`revocation contract: ${name}`, () => {
    for (const c of revocationContract()) {
      it(c.name, async () => {
        const ends = await open();
        try {
          await c.run(ends);
        } finally {
          await ends.close();
        }
      });
    }
  });
}
