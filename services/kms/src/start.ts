import type { RunningService, StartOptions } from '@flotilla/kit';
import type { kmsConfigSchema } from './config.js';
import { createKmsService, type KmsInternals, kmsInternals, type KmsServiceOptions } from './service.js';

export interface RunningKms extends KmsInternals {
  readonly url: string;
  readonly service: RunningService<(typeof kmsConfigSchema)['properties']>;
  stop(): Promise<void>;
}

/**
 * Starts a KMS in this process (tests, tools, benchmarks).
 *
 * @example
 * const kms = await startKms({ env: { FLOTILLA_KMS_ROOT_KEY: rootKey, FLOTILLA_HOME: dir }, identity });
 * await kms.stop();
 */
export async function startKms(opts: StartOptions & KmsServiceOptions = {}): Promise<RunningKms> {
  const { now, ...start } = opts;
  const service = await createKmsService(now ? { now } : {}).start(start);
  return { ...kmsInternals(service.ctx), url: service.url, service, stop: () => service.stop() };
}
