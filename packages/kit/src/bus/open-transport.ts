import type { Logger } from 'pino';
import { AmqpTransport } from './amqp.js';
import type { BusTransport } from './transport.js';

/**
 * The transport BUS_URL names: `amqp://` or `amqps://` is RabbitMQ. Without BUS_URL the
 * bus is the fleet's embedded broker (issue 18; not yet here).
 */
export async function openTransport(
  url: string | undefined,
  identity: string,
  log: Logger,
): Promise<BusTransport> {
  if (!url)
    throw new Error(
      'ctx.bus needs BUS_URL (amqp://… for RabbitMQ); the embedded broker is not available yet',
    );
  const scheme = new URL(url).protocol;
  if (scheme === 'amqp:' || scheme === 'amqps:') return AmqpTransport.open({ url, identity, log });
  throw new Error(`BUS_URL: no bus transport for ${scheme}// (amqp:// or amqps://)`);
}
