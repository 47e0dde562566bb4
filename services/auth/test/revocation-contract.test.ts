// The revocation contract from the publishing end: the auth service itself publishes (a
// revocation recorded and sent on every transport it serves), contract subscribers receive.
import {
  REVOCATION_CHANNEL,
  REVOCATION_EVENTS_PATH,
  type RevocationEvent,
  SseRevocationSubscriber,
} from '@flotilla/kit/contracts';
import {
  isContractEvent,
  recordingReceiver,
  type RevocationEnds,
  revocationContract,
  type RevocationReceiver,
} from '@flotilla/testing';
import { RedisRevocationSubscriber } from '@flotilla/kit/contracts';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestAuth } from './helpers.js';

const redisUrl = process.env.REDIS_URL;
let auth: Awaited<ReturnType<typeof startTestAuth>>;
let raw: ReturnType<typeof createClient> | undefined;

beforeAll(async () => {
  auth = await startTestAuth(redisUrl ? { env: { REDIS_URL: redisUrl } } : {});
  if (redisUrl) {
    raw = createClient({ url: redisUrl });
    await raw.connect();
  }
});
afterAll(async () => {
  await raw?.close();
  await auth?.stop();
});

/** Published as auth publishes: recorded in its database, then sent on every transport. */
const publish = (e: Omit<RevocationEvent, 'at'>) => auth.revocations.revoke(e);

/** The ends with auth publishing and `subscribe` making the receiving end of one transport. */
function authEnds(
  subscribe: () => Promise<RevocationReceiver>,
  publishRaw: (text: string) => Promise<void>,
): RevocationEnds {
  const receivers: RevocationReceiver[] = [];
  return {
    publish,
    publishRaw,
    receiver: async () => {
      const r = await subscribe();
      receivers.push(r);
      return r;
    },
    close: async () => void (await Promise.all(receivers.map((r) => r.close()))),
  };
}

/** The in-process transport takes objects: what is not an event is refused before delivery. */
async function rawToEvents(text: string): Promise<void> {
  try {
    await auth.events.publish(JSON.parse(text) as RevocationEvent);
  } catch {
    // refused (FLT_VALIDATION) or not JSON: nothing is delivered
  }
}

const transports: Record<string, () => RevocationEnds> = {
  'in-process': () => authEnds(() => recordingReceiver(auth.events.subscriber()), rawToEvents),
  sse: () =>
    authEnds(
      () =>
        recordingReceiver(
          new SseRevocationSubscriber({ url: `${auth.url}${REVOCATION_EVENTS_PATH}`, reconnectMs: 50 }),
        ),
      rawToEvents,
    ),
};
if (redisUrl) {
  transports.redis = () =>
    authEnds(
      // Auth publishes on the fleet's channel, which other tests share: count only ours.
      () =>
        recordingReceiver(
          new RedisRevocationSubscriber({
            url: redisUrl,
            ttlSec: 60,
            keyPrefix: `flotilla:test:${process.pid}:`,
          }),
          isContractEvent,
        ),
      async (text) => void (await raw!.publish(REVOCATION_CHANNEL, text)),
    );
} else {
  console.warn('REDIS_URL is not set: the Redis transport is not checked from auth');
}

for (const [name, make] of Object.entries(transports)) {
  describe(`revocation contract, auth publishing: ${name}`, () => {
    for (const c of revocationContract()) {
      it(c.name, async () => {
        const ends = make();
        try {
          await c.run(ends);
        } finally {
          await ends.close();
        }
      });
    }
  });
}
