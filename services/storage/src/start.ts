import type { RunningService, StartOptions } from '@flotilla/kit';
import { createStorage, type StorageOptions } from './service.js';

/**
 * Starts the storage service in-process (tests, tools); `buckets` instead of
 * STORAGE_BUCKETS_FILE.
 *
 * @example
 * const storage = await startStorage({ identity, env: { STORAGE_LOCAL_KEY_FILE: file } });
 */
export function startStorage(opts: StartOptions & StorageOptions = {}): Promise<RunningService> {
  const { buckets, ...start } = opts;
  return createStorage(buckets ? { buckets } : {}).start(start);
}
