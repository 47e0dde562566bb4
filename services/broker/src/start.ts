import type { RunningService, StartOptions } from '@flotilla/kit';
import type { brokerConfigSchema } from './config.js';
import { type BrokerInternals, brokerInternals, createBrokerService } from './service.js';

export interface RunningBroker extends BrokerInternals {
  readonly url: string;
  readonly service: RunningService<(typeof brokerConfigSchema)['properties']>;
  stop(): Promise<void>;
}

/**
 * Starts a broker in this process (tests, tools, benchmarks).
 *
 * @example
 * const broker = await startBroker({ env: { FLOTILLA_HOME: dir }, identity });
 * await broker.stop();
 */
export async function startBroker(opts: StartOptions = {}): Promise<RunningBroker> {
  const service = await createBrokerService().start(opts);
  return { ...brokerInternals(service.ctx), url: service.url, service, stop: () => service.stop() };
}
