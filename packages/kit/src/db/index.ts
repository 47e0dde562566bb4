import { join } from 'node:path';
import { migrate } from './migrations.js';
import { openHostedDb } from './hosted.js';
import type { Db, Migration } from './types.js';

export { DbHost, type DbHostOptions } from './host.js';
export { migrate, readMigrations } from './migrations.js';
export type { Db, Migration, Queryable, QueryResult } from './types.js';

export interface OpenDbOptions {
  /** The owning service; names the PGlite folder and the PostgreSQL schema. */
  service: string;
  /** `DATABASE_URL`: PostgreSQL when set, embedded PGlite otherwise. */
  url?: string | undefined;
  /** Where PGlite keeps its files: `<home>/data/<service>`. Ignored for PostgreSQL. */
  home?: string;
  /** PGlite only: keep the database in memory (tests). */
  inMemory?: boolean;
  /** PGlite only: the database is kept by `flotilla up` (`FLOTILLA_DB=host`), not in this process. */
  hosted?: boolean;
  /** PostgreSQL schema; defaults to the service name. */
  schema?: string;
  migrations?: readonly Migration[];
}

/**
 * Opens the service's database and brings its schema up to date: PostgreSQL with a URL;
 * otherwise the embedded PGlite, kept by `flotilla up` for the services it starts
 * (`hosted`), or in this process. Each backend's library is loaded only when
 * used: PGlite alone is tens of MB that a process on PostgreSQL or the host never needs.
 *
 * @example
 * const db = await openDb({ service: 'notes', url: process.env.DATABASE_URL, migrations });
 * const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM notes');
 */
export async function openDb(opts: OpenDbOptions): Promise<Db> {
  const db = opts.url
    ? await (await import('./postgres.js')).openPostgres(opts.url, opts.schema ?? opts.service)
    : opts.hosted && !opts.inMemory
      ? openHostedDb()
      : await openEmbedded(opts);
  try {
    if (opts.migrations?.length) await migrate(db, opts.migrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * PGlite in this process: in memory (tests), or in `<home>/data/<service>`.
 *
 * @example
 * const db = await openEmbedded({ service: 'notes', inMemory: true });
 */
export async function openEmbedded(opts: Pick<OpenDbOptions, 'service' | 'home' | 'inMemory'>): Promise<Db> {
  const [{ openPglite }, { templateDirs }] = await Promise.all([
    import('./pglite.js'),
    import('./pglite-template.js'),
  ]);
  return opts.inMemory
    ? openPglite(undefined)
    : openPglite(
        join(opts.home ?? '.flotilla', 'data', opts.service),
        templateDirs(opts.home ?? '.flotilla'),
      );
}
