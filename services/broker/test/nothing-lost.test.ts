// Nothing lost (issue 18): a publisher sends through the kit's ctx.bus with confirms
// while the broker process is killed with SIGKILL and restarted on the same store; every
// confirmed message must then be handled at least once. Duplicates are counted and
// printed, not forbidden (delivery is at-least-once).
import { defineMessage, type RunningService, Type } from '@flotilla/kit';
import { nothingLost } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet } from './fleet-harness.js';
import { freshDatabase } from './fresh-database.js';

const Job = defineMessage('nothing-lost-job', Type.Object({ seq: Type.Integer() }));

// PGlite keeps the broker's store in its own process, several times slower than PostgreSQL
// on this 2-core host, and a restart loads it again: fewer messages and one kill there keep
// the test near a minute. `killsAt`: confirmed sends after which the broker is killed.
type Backend = {
  name: string;
  count: number;
  killsAt: number[];
  env: () => Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
};

const backends: Backend[] = [
  { name: 'pglite', count: 1_000, killsAt: [400], env: async () => ({ env: {}, drop: async () => {} }) },
];
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl)
  backends.push({
    name: 'postgres',
    count: 2_000,
    killsAt: [500, 1_300],
    env: async () => {
      const db = await freshDatabase(databaseUrl, 'flotilla_nothing_lost');
      return { env: { DATABASE_URL: db.url }, drop: () => db.drop() };
    },
  });
else
  console.warn(
    'DATABASE_URL is not set: the nothing-lost test of the embedded broker runs on PGlite only ' +
      '(set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test for PostgreSQL too)',
  );

describe.each(backends)('the embedded broker on $name', ({ name, count, killsAt, env }) => {
  let fleet: BrokerFleet;
  let drop: () => Promise<void> = async () => {};
  let app: RunningService;
  let worker: RunningService;
  beforeAll(async () => {
    const backend = await env();
    drop = () => backend.drop();
    fleet = await brokerFleet(backend.env);
    app = await fleet.service('app');
    worker = await fleet.service('worker');
  }, 60_000);
  afterAll(async () => {
    await fleet?.close();
    await drop();
  }, 60_000);

  it(`loses no confirmed message of ${count} while the broker is killed -9 and restarted`, async () => {
    const queue = `nothing-lost-${process.pid}-${Date.now()}`;
    let restarts = 0;
    const report = await nothingLost({
      count,
      send: async (seq) => (await app.ctx.bus.send(queue, Job, { seq })).id,
      consume: async (handled) => {
        const consumer = await worker.ctx.bus.consume(queue, Job, async (_body, m) => handled(m.id), {
          prefetch: 32,
        });
        return () => consumer.cancel();
      },
      faults: killsAt.map((afterConfirmed) => ({
        afterConfirmed,
        run: async () => {
          await fleet.broker().kill('SIGKILL');
          await fleet.startBroker();
          restarts++;
        },
      })),
      drainMs: 90_000,
    });
    console.log(`nothing lost, embedded broker on ${name}, ${restarts} kill -9 restarts: ${report.summary}`);
    expect(restarts).toBe(killsAt.length);
    expect(report.confirmed).toBe(count);
    expect(report.lostIds).toEqual([]);
    expect(report.lost).toBe(0);
  }, 300_000);
});
