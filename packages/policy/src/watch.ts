import { type FSWatcher, watch } from 'node:fs';
import type { Authorizer } from './authorizer.js';
import { loadPolicies } from './load.js';

export interface WatchOptions {
  schemaFile?: string;
  /** A reload failed; the engine keeps its previous set. */
  onError?: (err: unknown) => void;
  onReload?: (version: number) => void;
  /** Quiet time after the last change before reloading (editors write in bursts). Default 100 ms. */
  debounceMs?: number;
}

export interface PolicyWatcher {
  close(): void;
}

/**
 * Reloads `engine` when a `.cedar` file or the schema in `dir` changes. A set that fails
 * to load is reported to `onError` and the previous set stays in force.
 *
 * @example
 * const watcher = watchPolicies('policies', engine, { onError: (e) => log.warn({ err: e }, 'policy reload failed') });
 */
export function watchPolicies(dir: string, engine: Authorizer, opts: WatchOptions = {}): PolicyWatcher {
  const schemaFile = opts.schemaFile ?? 'schema.cedarschema';
  const debounceMs = opts.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const compiled = await loadPolicies({ dir, schemaFile });
      if (!closed) {
        engine.reload(compiled);
        opts.onReload?.(engine.version);
      }
    } catch (err) {
      if (!closed) opts.onError?.(err);
    } finally {
      running = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };

  // Watching the directory (not each file) also sees editors that save by rename.
  const watcher: FSWatcher = watch(dir, { persistent: false }, (_event, name) => {
    if (!name || name.endsWith('.cedar') || name === schemaFile) schedule();
  });
  watcher.on('error', (err) => opts.onError?.(err));
  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
