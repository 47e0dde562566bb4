import pg from 'pg';
import { INT8_OID, parseInt8 } from './int8.js';
import type { Db, Queryable, QueryResult } from './types.js';

const defaultParser = pg.types.getTypeParser.bind(pg.types) as (
  oid: number,
  format?: 'text' | 'binary',
) => unknown;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : defaultParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * PostgreSQL through a `pg` pool. Each service works in a schema of its own, so
 * services sharing one server never see each other's tables.
 */
export async function openPostgres(url: string, schema: string, max = 10): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types,
    options: `-c search_path=${quoteIdent(schema)}`,
    application_name: `flotilla-${schema}`,
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on next use.
  });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);

  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    const res = await client.query(sql, params as unknown[] | undefined);
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 } satisfies QueryResult<T>;
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await pool.query(sql)),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          kind: 'postgres',
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => void (await client.query(sql)),
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** Schema names come from service names; quoting keeps them identifiers, never SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
