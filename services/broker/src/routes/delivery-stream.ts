import { PassThrough } from 'node:stream';
import { BROKER_KEEPALIVE_MS, type Delivery } from '@flotilla/kit/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';

/**
 * Answers with a delivery stream of `queue` (newline-delimited JSON): the consumer's id,
 * then deliveries as the engine leases them, and a blank line every few seconds so that
 * both ends notice a dead connection. When the connection closes, the consumer's
 * unsettled messages go back to the queue.
 */
export function openDeliveryStream(
  engine: DeliveryEngine,
  req: FastifyRequest,
  reply: FastifyReply,
  queue: string,
  service: string,
  prefetch: number,
): FastifyReply {
  const out = new PassThrough();
  const consumer = engine.open(queue, service, prefetch, (d: Delivery) =>
    out.write(`${JSON.stringify(d)}\n`),
  );
  out.write(`${JSON.stringify({ consumer: consumer.id })}\n`);
  const keepalive = setInterval(() => out.write('\n'), BROKER_KEEPALIVE_MS);
  keepalive.unref();
  const closed = () => {
    clearInterval(keepalive);
    out.end();
    void engine.close(consumer).catch((err: unknown) => req.log.error({ err }, 'giving back leases failed'));
  };
  req.raw.once('close', closed);
  reply.raw.once('close', closed);
  return reply.header('content-type', 'application/x-ndjson').header('cache-control', 'no-store').send(out);
}
