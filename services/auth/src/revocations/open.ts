import type { Db, ServiceContext } from '@flotilla/kit';
import {
  InProcessRevocations,
  RedisRevocationPublisher,
  type RevocationEvent,
  type RevocationPublisher,
} from '@flotilla/kit/contracts';
import type { ClientConfig } from '../clients.js';
import { Revocations } from './store.js';

/** How often rows recorded by other processes (the CLI, replicas) are published. */
const POLL_MS = 1000;

export interface OpenRevocations {
  /** The in-process transport, served to gateways as Server-Sent Events. */
  readonly events: InProcessRevocations;
  readonly revocations: Revocations;
}

/**
 * The auth service's revocations: recorded in its database, published on the in-process
 * transport behind its SSE stream and, with `REDIS_URL`, on Redis pub/sub. A client the
 * clients file disables is revoked at start (once).
 */
export async function openRevocations(
  ctx: Pick<ServiceContext, 'onClose'>,
  o: {
    db: Db;
    replaySeconds: number;
    redisUrl: string | undefined;
    keepSeconds: number;
    clients: ClientConfig[];
  },
): Promise<OpenRevocations> {
  const events = new InProcessRevocations({ replaySeconds: o.replaySeconds });
  const transports: RevocationPublisher[] = [events];
  if (o.redisUrl) transports.push(new RedisRevocationPublisher(o.redisUrl));
  const publisher: RevocationPublisher = {
    publish: async (event: RevocationEvent) =>
      void (await Promise.all(transports.map((t) => t.publish(event)))),
    close: async () => void (await Promise.all(transports.map((t) => t.close()))),
  };
  const revocations = new Revocations(o.db, publisher, o.keepSeconds);
  await revocations.start(POLL_MS);
  ctx.onClose(async () => {
    revocations.stop();
    await publisher.close();
  });
  for (const c of o.clients.filter((c) => c.disabled)) {
    if (!(await revocations.isRevoked({ clientId: c.client_id, iat: 0 }))) {
      await revocations.revoke({ type: 'client', clientId: c.client_id });
    }
  }
  return { events, revocations };
}
