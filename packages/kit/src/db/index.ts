import { join } from 'node:path';
import { migrate } from './migrations.js';
import { openPglite } from './pglite.js';
import { templateDirs } from './pglite-template.js';
import { openPostgres } from './postgres.js';
import type { Db, Migration } from './types.js';

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
  /** PostgreSQL schema; defaults to the service name. */
  schema?: string;
  migrations?: readonly Migration[];
}

/** Opens the service's database and brings its schema up to date. */
export async function openDb(opts: OpenDbOptions): Promise<Db> {
  const db = opts.url
    ? await openPostgres(opts.url, opts.schema ?? opts.service)
    : opts.inMemory
      ? await openPglite(undefined)
      : await openPglite(
          join(opts.home ?? '.flotilla', 'data', opts.service),
          templateDirs(opts.home ?? '.flotilla'),
        );
  try {
    if (opts.migrations?.length) await migrate(db, opts.migrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
