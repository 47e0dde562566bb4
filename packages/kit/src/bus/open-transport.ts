import type { Logger } from 'pino';
import { BrokerClient, type BrokerTransport as BrokerCall } from '../contracts/broker/index.js';
import { AmqpTransport } from './amqp.js';
import { type AmqpLoginOptions, amqpLogin } from './amqp-login.js';
import { BrokerTransport } from './broker-transport.js';
import type { BusTransport } from './transport.js';

/** How a service reaches the fleet's embedded broker: its name and `ctx.call('broker', …)`. */
export interface BrokerAccess {
  service: string;
  call: BrokerCall;
}

/**
 * The transport BUS_URL names: `amqp://` or `amqps://` is RabbitMQ. Without BUS_URL the
 * bus is the fleet's embedded broker (`services/broker`, through discovery and mTLS).
 */
export async function openTransport(
  url: string | undefined,
  identity: string,
  log: Logger,
  broker?: BrokerAccess,
  login?: Omit<AmqpLoginOptions, 'url' | 'identity'>,
): Promise<BusTransport> {
  if (!url) {
    if (!broker)
      throw new Error(
        'ctx.bus needs BUS_URL (amqp://… for RabbitMQ) or a control plane (the embedded broker)',
      );
    return new BrokerTransport({
      client: new BrokerClient(broker.call),
      identity,
      service: broker.service,
      log,
    });
  }
  const scheme = new URL(url).protocol;
  if (scheme === 'amqp:' || scheme === 'amqps:')
    return AmqpTransport.open({
      url,
      identity,
      log,
      login: login && amqpLogin({ ...login, url, identity }),
    });
  throw new Error(`BUS_URL: no bus transport for ${scheme}// (amqp:// or amqps://)`);
}
