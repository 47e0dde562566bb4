import { FlotillaError, peerOf, type ServiceApp } from '@flotilla/kit';
import type { ServerResponse } from 'node:http';
import type { LocalRevocationBus, NumberedEvent } from './local.js';
import { EVENTS_PATH } from './subscribe.js';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/revocations/events`: revocations as Server-Sent Events. A reconnecting
 * subscriber sends `Last-Event-ID` and first receives what it missed from the replay buffer.
 *
 * With a workload identity (`requirePeer`), only a caller with a service certificate is
 * served, and the kit's policy check decides which services (the platform policies permit
 * the gateway): the stream names users, clients and grants. Without one (plain HTTP, local
 * tests) no call between services is authenticated, and neither is this.
 */
export function registerRevocationStream(
  app: ServiceApp,
  bus: LocalRevocationBus,
  opts: { requirePeer: boolean },
): void {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(EVENTS_PATH, async (req, reply) => {
    if (opts.requirePeer && !peerOf(req)) {
      throw new FlotillaError(
        'FLT_UNAUTHENTICATED',
        'revocation events are for services: present a workload certificate',
      );
    }
    const header = req.headers['last-event-id'];
    const query = (req.query as { since?: string }).since;
    const lastId = Number.parseInt(String(header ?? query ?? ''), 10);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    open.add(res);
    const send = (n: NumberedEvent) => res.write(`id: ${n.id}\ndata: ${JSON.stringify(n.event)}\n\n`);
    // The current id first, so a subscriber that reconnects before any event misses nothing.
    res.write(`retry: 500\nid: ${Number.isSafeInteger(lastId) ? lastId : bus.lastId}\n: connected\n\n`);
    if (Number.isSafeInteger(lastId)) for (const n of bus.since(lastId)) send(n);
    const sub = bus.subscribeNumbered(send);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const done = () => {
      clearInterval(heartbeat);
      open.delete(res);
      void sub.close();
    };
    res.on('close', done);
  });
}
