import { randomBytes } from 'node:crypto';
import { openDb } from '@flotilla/kit';

/**
 * A new, empty PostgreSQL database on the server of `url`, so that a test's broker never
 * sees another run's tables (the broker's schema is always `broker`). `drop` removes it.
 *
 * @example
 * const db = await freshDatabase(process.env.DATABASE_URL!, 'nothing_lost');
 * const fleet = await brokerFleet({ DATABASE_URL: db.url });
 * await db.drop();
 */
export async function freshDatabase(
  url: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  // `public` exists already: openDb creates no schema of its own here.
  const admin = () => openDb({ service: 'test-admin', url, schema: 'public' });
  const db = await admin();
  try {
    await db.exec(`CREATE DATABASE "${name}"`);
  } finally {
    await db.close();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return {
    url: fresh.toString(),
    async drop() {
      const db = await admin();
      try {
        await db.exec(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await db.close();
      }
    },
  };
}
