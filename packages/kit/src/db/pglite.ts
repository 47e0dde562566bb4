import { chmod, mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { INT8_OID, parseInt8 } from './int8.js';
import { PGLITE_START_PARAMS } from './pglite-settings.js';
import { seedFromTemplate, templateTarball } from './pglite-template.js';
import type { Db, Queryable } from './types.js';

/**
 * Embedded PostgreSQL (PGlite, WebAssembly) stored in `dir`, or in memory when `dir`
 * is undefined. One connection, so statements run one after another. A new `dir` is
 * copied from one of `templates`, and a database in memory loaded from the template's
 * tarball (see pglite-template.ts), rather than initdb'd in this process.
 */
export async function openPglite(dir: string | undefined, templates: readonly string[] = []): Promise<Db> {
  if (dir) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await seedFromTemplate(dir, templates);
    // PGlite creates files 0666 and folders 0777: the folder itself keeps others out.
    await chmod(dir, 0o700);
  }
  const tarball = dir ? undefined : await templateTarball();
  const db = await PGlite.create({
    ...(dir ? { dataDir: dir } : {}),
    ...(tarball ? { loadDataDir: tarball } : {}),
    startParams: [...PGLITE_START_PARAMS],
  });
  const parsers = { [INT8_OID]: parseInt8 };
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    kind: 'pglite',
    async query<T>(sql: string, params?: readonly unknown[]) {
      const res = await q.query<T>(sql, params as unknown[] | undefined, { parsers });
      // affectedRows is 0 for a SELECT, where pg counts the rows returned.
      return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  const self = wrap(db);
  return {
    kind: 'pglite',
    query: self.query,
    exec: self.exec,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  };
}
