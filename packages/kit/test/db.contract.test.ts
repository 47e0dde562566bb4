import { randomBytes } from 'node:crypto';
import { type Db, DbHost, type Migration, migrate, openDb, openEmbedded } from '@flotilla/kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHostedDb } from '../src/db/hosted.js';
import { loopbackChannel, tempHome } from './helpers.js';

const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL) {
  console.warn('db contract: DATABASE_URL is not set; the PostgreSQL run is skipped (PGlite runs).');
}

const migrations: Migration[] = [
  {
    id: '001_items',
    sql: 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, meta jsonb)',
  },
  { id: '002_created', sql: 'ALTER TABLE items ADD COLUMN created timestamptz NOT NULL DEFAULT now()' },
];

interface Backend {
  name: string;
  skip: boolean;
  open: (extra?: Migration[], base?: Migration[]) => Promise<Db>;
  cleanup: () => Promise<void>;
}

function pgliteBackend(): Backend {
  let home: Awaited<ReturnType<typeof tempHome>> | undefined;
  return {
    name: 'PGlite',
    skip: false,
    async open(extra = [], base = migrations) {
      home ??= await tempHome();
      return openDb({ service: 'contract', home: home.dir, migrations: [...base, ...extra] });
    },
    cleanup: async () => home?.remove(),
  };
}

/** PGlite kept by the fleet's database host (`flotilla up`), reached over an IPC channel. */
function hostedBackend(): Backend {
  let home: Awaited<ReturnType<typeof tempHome>> | undefined;
  let host: DbHost | undefined;
  return {
    name: 'PGlite through the database host',
    skip: false,
    async open(extra = [], base = migrations) {
      home ??= await tempHome();
      const dir = home.dir;
      host ??= new DbHost({ open: (service) => openEmbedded({ service, home: dir }) });
      const channel = loopbackChannel();
      host.attach(channel.host, 'contract');
      const db = openHostedDb(channel.child);
      try {
        await migrate(db, [...base, ...extra]);
      } catch (err) {
        await db.close();
        throw err;
      }
      return db;
    },
    async cleanup() {
      await host?.close();
      await home?.remove();
    },
  };
}

function postgresBackend(): Backend {
  const schema = `contract_${randomBytes(4).toString('hex')}`;
  return {
    name: 'PostgreSQL',
    skip: !DATABASE_URL,
    open: (extra = [], base = migrations) =>
      openDb({ service: 'contract', url: DATABASE_URL, schema, migrations: [...base, ...extra] }),
    async cleanup() {
      if (!DATABASE_URL) return;
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

describe.each([pgliteBackend(), hostedBackend(), postgresBackend()])(
  'database contract on $name',
  (backend) => {
    let db: Db;
    beforeAll(async () => {
      if (backend.skip) return;
      db = await backend.open();
    });
    afterAll(async () => {
      await db?.close();
      await backend.cleanup();
    });

    it.skipIf(backend.skip)('applies migrations and records each once', async () => {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM flotilla_migrations ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual(['001_items', '002_created']);
    });

    it.skipIf(backend.skip)('never re-applies a migration when reopened', async () => {
      await db.query('INSERT INTO items (name) VALUES ($1)', ['survives-reopen']);
      await db.close();
      db = await backend.open();
      const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM items WHERE name = $1', [
        'survives-reopen',
      ]);
      expect(rows[0]?.n).toBe(1);
      const applied = await db.query('SELECT id FROM flotilla_migrations');
      expect(applied.rowCount).toBe(2);
    });

    it.skipIf(backend.skip)('refuses to start when an applied migration has changed', async () => {
      await db.close();
      const tampered: Migration = { id: '001_items', sql: 'CREATE TABLE items (id int)' };
      await expect(backend.open([], [tampered])).rejects.toThrow(
        'migration 001_items was changed after it was applied',
      );
      db = await backend.open();
    });

    it.skipIf(backend.skip)('rolls back a failing migration and records nothing', async () => {
      const bad: Migration = {
        id: '003_bad',
        sql: 'CREATE TABLE half_done (id int); SELECT * FROM no_such_table',
      };
      await expect(backend.open([bad])).rejects.toThrow(/no_such_table/);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM flotilla_migrations WHERE id = '003_bad'",
      );
      expect(rows[0]?.n).toBe(0);
      const exists = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
      expect(exists.rowCount).toBe(0);
    });

    it.skipIf(backend.skip)('keeps values out of the SQL text (parameterised queries)', async () => {
      const hostile = "x'); DROP TABLE items; --";
      await db.query('INSERT INTO items (name) VALUES ($1)', [hostile]);
      const { rows } = await db.query<{ name: string }>('SELECT name FROM items WHERE name = $1', [hostile]);
      expect(rows).toEqual([{ name: hostile }]);
    });

    it.skipIf(backend.skip)(
      'maps types the same way: bigint as number, jsonb as object, timestamptz as Date',
      async () => {
        await db.query('INSERT INTO items (name, meta) VALUES ($1, $2)', [
          'typed',
          JSON.stringify({ tags: ['a'], n: 1 }),
        ]);
        const { rows } = await db.query<{ meta: unknown; created: unknown; n: unknown }>(
          'SELECT meta, created, (SELECT count(*) FROM items) AS n FROM items WHERE name = $1',
          ['typed'],
        );
        expect(rows[0]?.meta).toEqual({ tags: ['a'], n: 1 });
        expect(rows[0]?.created).toBeInstanceOf(Date);
        expect(typeof rows[0]?.n).toBe('number');
        await expect(db.query('SELECT 9223372036854775807::bigint AS big')).rejects.toThrow(/does not fit/);
      },
    );

    it.skipIf(backend.skip)(
      'commits a transaction that resolves and rolls back one that throws',
      async () => {
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO items (name) VALUES ($1)', ['committed']);
        });
        await expect(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO items (name) VALUES ($1)', ['rolled-back']);
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        const { rows } = await db.query<{ name: string }>(
          "SELECT name FROM items WHERE name IN ('committed', 'rolled-back')",
        );
        expect(rows.map((r) => r.name)).toEqual(['committed']);
      },
    );

    it.skipIf(backend.skip)('reports rows touched and enforces constraints', async () => {
      await db.query('INSERT INTO items (name) VALUES ($1), ($2)', ['u1', 'u2']);
      const updated = await db.query('UPDATE items SET meta = $1 WHERE name IN ($2, $3)', ['{}', 'u1', 'u2']);
      expect(updated.rowCount).toBe(2);
      await expect(db.query('INSERT INTO items (name) VALUES ($1)', ['u1'])).rejects.toThrow(
        /unique|duplicate/i,
      );
    });

    it.skipIf(backend.skip)('serves concurrent queries', async () => {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => db.query<{ v: number }>('SELECT $1::int AS v', [i])),
      );
      expect(results.map((r) => r.rows[0]?.v)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });
  },
);
