// The revocation contract from the receiving end: each transport's subscriber feeds the
// gateway's denylist, and an event counts as heard when the denylist refuses the token it names.
import { randomUUID } from 'node:crypto';
import {
  InProcessRevocations,
  nowSeconds,
  RedisRevocationPublisher,
  RedisRevocationSubscriber,
  REVOCATION_EVENTS_PATH,
  type RevocationEvent,
  type RevocationPublisher,
  type RevocationSubscriber,
  serveRevocationEvents,
  SseRevocationSubscriber,
} from '@flotilla/kit/contracts';
import { type RevocationEnds, revocationContract, type RevocationReceiver } from '@flotilla/testing';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { describe, it } from 'vitest';
import { principalFromClaims } from '../auth/principal.js';
import { Denylist } from './denylist.js';

/** A token the event revokes: its jti, its grant, or its subject's or client's, issued at the event. */
function victim(event: RevocationEvent) {
  return principalFromClaims(
    {
      sub: event.type === 'user' ? event.sub : 'someone',
      client_id: event.type === 'client' ? event.clientId : 'some-client',
      jti: event.type === 'token' ? event.jti : randomUUID(),
      grant_id: event.type === 'grant' ? event.grantId : undefined,
      iat: event.at,
      exp: event.at + 300,
    },
    'jwt',
  );
}

/** The gateway's receiving end: the subscriber applies every event to a denylist. */
async function denylistReceiver(subscriber: RevocationSubscriber): Promise<RevocationReceiver> {
  const denylist = new Denylist(60_000);
  await subscriber.start((event) => denylist.apply(event));
  return {
    heard: (event) => denylist.check(victim(event)) !== undefined,
    get count() {
      return denylist.size;
    },
    get connected() {
      return subscriber.connected;
    },
    close: () => subscriber.close(),
  };
}

function ends(
  publisher: RevocationPublisher,
  subscribe: () => RevocationSubscriber,
  publishRaw: (text: string) => Promise<void>,
  close: () => Promise<void>,
): RevocationEnds {
  const receivers: RevocationReceiver[] = [];
  return {
    publish: async (e) => {
      const event = { ...e, at: nowSeconds() };
      await publisher.publish(event);
      return event;
    },
    publishRaw,
    receiver: async () => {
      const r = await denylistReceiver(subscribe());
      receivers.push(r);
      return r;
    },
    close: async () => {
      await Promise.all(receivers.map((r) => r.close()));
      await close();
    },
  };
}

/** The in-process transport takes objects: what is not an event is refused before delivery. */
const rawTo = (bus: InProcessRevocations) => async (text: string) => {
  try {
    await bus.publish(JSON.parse(text) as RevocationEvent);
  } catch {
    // refused (FLT_VALIDATION) or not JSON: nothing is delivered
  }
};

const transports: Record<string, () => Promise<RevocationEnds>> = {
  async 'in-process'() {
    const bus = new InProcessRevocations();
    return ends(
      bus,
      () => bus.subscriber(),
      rawTo(bus),
      () => bus.close(),
    );
  },
  async sse() {
    const bus = new InProcessRevocations();
    const app = Fastify();
    serveRevocationEvents(app, bus, { requirePeer: false });
    const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}${REVOCATION_EVENTS_PATH}`;
    return ends(
      bus,
      () => new SseRevocationSubscriber({ url, reconnectMs: 50 }),
      rawTo(bus),
      () => app.close(),
    );
  },
};

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  transports.redis = async () => {
    // A channel and key prefix of this run only: other tests share the Redis.
    const channel = `flotilla:test:gateway-revocations:${randomUUID()}`;
    const keyPrefix = `${channel}:denylist:`;
    const publisher = new RedisRevocationPublisher(redisUrl, { channel });
    const raw = createClient({ url: redisUrl });
    await raw.connect();
    return ends(
      publisher,
      () => new RedisRevocationSubscriber({ url: redisUrl, ttlSec: 60, channel, keyPrefix }),
      async (text) => void (await raw.publish(channel, text)),
      async () => {
        for await (const keys of raw.scanIterator({ MATCH: `${keyPrefix}*` }))
          if (keys.length) await raw.del(keys);
        await raw.close();
        await publisher.close();
      },
    );
  };
} else {
  console.warn('REDIS_URL is not set: the Redis transport is not checked from the gateway');
}

for (const [name, open] of Object.entries(transports)) {
  describe(`revocation contract, the gateway's denylist receiving: ${name}`, () => {
    for (const c of revocationContract()) {
      it(c.name, async () => {
        const e = await open();
        try {
          await c.run(e);
        } finally {
          await e.close();
        }
      });
    }
  });
}
