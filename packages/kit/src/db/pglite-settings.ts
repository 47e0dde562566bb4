import { PGlite } from '@electric-sql/pglite';

/**
 * PostgreSQL settings for the embedded mode: one service, one connection, small data.
 *
 * PGlite runs the server inside a WebAssembly heap that never shrinks, and PostgreSQL
 * touches all of its shared memory at start; with the stock settings (shared_buffers
 * 128 MB, sized for `max_connections` 100) a service idles at ~300 MB more than it needs.
 * These cut the embedded database to ~60 MB (measured in bench/fleet/README.md).
 */
const EMBEDDED_SETTINGS = [
  'shared_buffers=8MB',
  'wal_buffers=256kB',
  'work_mem=1MB',
  'maintenance_work_mem=4MB',
  'temp_buffers=1MB',
  // One backend in single-user mode: the per-connection arrays need not hold 100.
  'max_connections=3',
];

/**
 * PGlite uses `startParams` instead of its defaults (`--single`, `search_path=public`,
 * no parallel workers, …), never in addition to them: keep them and append ours.
 */
export const PGLITE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams,
  ...EMBEDDED_SETTINGS.flatMap((s) => ['-c', s]),
];
