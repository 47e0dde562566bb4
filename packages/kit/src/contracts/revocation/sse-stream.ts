import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { FlotillaError } from '../../errors/index.js';
import { peerOf } from '../../identity/index.js';
import { REVOCATION_EVENTS_PATH } from './event.js';
import type { InProcessRevocations, NumberedEvent } from './in-process.js';

const HEARTBEAT_MS = 15_000;
/** The type of the stream's first event, which only carries the current id. */
export const CONNECTED_EVENT = 'connected';
/** What a client waits before reconnecting (the stream's `retry:` field). */
const RETRY_MS = 500;

export interface RevocationStreamOptions {
  /**
   * Serve only callers with a workload certificate (then the kit's inbound policy decides
   * which services: the platform policies permit the gateway). Set it whenever the
   * service has an identity: the stream names users, clients and grants.
   */
  requirePeer: boolean;
}

/**
 * `GET /v1/revocations/events`: the events of `source` as Server-Sent Events (HTML
 * Living Standard §9.2), each with its sequence number as `id:`. A reconnecting client
 * sends `Last-Event-ID` and first receives what it missed from the replay buffer.
 * Without an identity (plain HTTP, local tests) no call between services is
 * authenticated, and neither is this.
 *
 * @example
 * serveRevocationEvents(app, revocations, { requirePeer: ctx.identity !== undefined });
 */
export function serveRevocationEvents(
  app: FastifyInstance,
  source: InProcessRevocations,
  opts: RevocationStreamOptions,
): void {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(REVOCATION_EVENTS_PATH, async (req, reply) => {
    if (opts.requirePeer && !peerOf(req)) {
      throw new FlotillaError(
        'FLT_UNAUTHENTICATED',
        'revocation events are for services: present a workload certificate',
      );
    }
    const header = req.headers['last-event-id'];
    const query = (req.query as { since?: string } | undefined)?.since;
    const lastId = Number.parseInt(String(header ?? query ?? ''), 10);
    const resume = Number.isSafeInteger(lastId) && lastId >= 0;
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
    // The current id first, so a client that reconnects before any event misses nothing. It
    // is an event of its own type with an empty `data:` line: a parser reports an id only
    // with data (eventsource-parser does), and a revocation receiver ignores other types.
    const current = resume ? lastId : source.lastId;
    res.write(`retry: ${RETRY_MS}\nevent: ${CONNECTED_EVENT}\nid: ${current}\ndata:\n\n`);
    if (resume) for (const n of source.since(lastId)) send(n);
    const stop = source.listen(send);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      clearInterval(heartbeat);
      open.delete(res);
      stop();
    });
  });
}
