import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db, Migration } from './types.js';

/**
 * Reads `NNN_name.sql` files from a folder, in name order.
 *
 * @example
 * const migrations = await readMigrations('services/notes/migrations'); // [{ id: '001_notes', sql }]
 */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (n) => ({ id: n.replace(/\.sql$/, ''), sql: await readFile(join(dir, n), 'utf8') })),
  );
}

/**
 * Applies the migrations not yet recorded, each in its own transaction, in order.
 * An applied migration whose text has since changed stops the start: silently running
 * on a schema that differs from the code is worse than not starting.
 *
 * @example
 * const applied = await migrate(db, [{ id: '001_notes', sql: 'CREATE TABLE notes (id serial PRIMARY KEY)' }]);
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  const ids = migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new Error('migration ids must be unique');
  await db.query(
    `CREATE TABLE IF NOT EXISTS flotilla_migrations (
       id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const applied: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    const checksum = createHash('sha256').update(m.sql).digest('hex');
    const done = await db.transaction(async (tx) => {
      // Instances starting together on one PostgreSQL take turns here.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1))', [
        'flotilla_migrations',
      ]);
      const { rows } = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM flotilla_migrations WHERE id = $1',
        [m.id],
      );
      if (rows[0]) {
        if (rows[0].checksum !== checksum)
          throw new Error(`migration ${m.id} was changed after it was applied`);
        return false;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO flotilla_migrations (id, checksum) VALUES ($1, $2)', [m.id, checksum]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return applied;
}
