// Nothing acknowledged is lost: the broker process is killed with SIGKILL while a sender
// is sending and a consumer holds unacknowledged deliveries; after a restart on the same
// database every acknowledged send is delivered (duplicates are counted and printed).
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { BrokerTransport, decodeEnvelope, type Envelope } from '@flotilla/kit';
import type { Delivery } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet, until } from './fleet-harness.js';

/** PGlite in the broker's process always; PostgreSQL too when DATABASE_URL is set. */
const backends: Array<[string, Record<string, string>]> = [['pglite', {}]];
if (process.env.DATABASE_URL) backends.push(['postgres', { DATABASE_URL: process.env.DATABASE_URL }]);
else console.warn('DATABASE_URL is not set: the broker durability test runs on PGlite only');

const TOTAL = 300;
const KILL_AT = 120;

describe.each(backends)('on %s', (backend, env) => {
  let fleet: BrokerFleet;
  beforeAll(async () => {
    fleet = await brokerFleet(env);
  }, 60_000);
  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  it('delivers every acknowledged send after a kill -9 of the broker mid-stream', async () => {
    const app = fleet.client(await fleet.service('app'));
    const worker = fleet.client(await fleet.service('worker'));
    const q = `durable-${process.pid}-${Date.now()}`;
    const acked = new Set<number>();
    let failures = 0;
    // A consumer that takes five and never settles them: leased when the broker dies.
    const held = await worker.consume(q, 5);
    const heldGot: Delivery[] = [];
    void (async () => {
      for await (const d of held.deliveries) heldGot.push(d);
    })().catch(() => {});

    const sending = (async () => {
      for (let seq = 0; seq < TOTAL;) {
        try {
          await app.send(q, { seq });
          acked.add(seq);
          seq++;
        } catch {
          failures++; // not acknowledged: the sender tries the same one again
          await sleep(50);
        }
      }
    })();
    await until('sends before the kill', () => acked.size >= KILL_AT, 60_000);
    await until('the held deliveries', () => heldGot.length === 5);
    await fleet.broker().kill('SIGKILL');
    await fleet.startBroker();
    await sending;

    const seen = new Map<number, number>();
    const stream = await worker.consume(q, 50);
    const consuming = (async () => {
      for await (const d of stream.deliveries) {
        const seq = (d.message as { seq: number }).seq;
        seen.set(seq, (seen.get(seq) ?? 0) + 1);
        await worker.ack(d.consumer, d.id);
      }
    })().catch(() => {});
    await until('every acknowledged send delivered', () => [...acked].every((s) => seen.has(s)), 60_000);
    stream.close();
    await consuming;
    const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0);
    console.log(
      `durability (${backend}): ${acked.size} acknowledged, ${seen.size} delivered after restart, ${duplicates} duplicates, ${failures} sends refused while the broker was down`,
    );
    expect(acked.size).toBe(TOTAL);
    // The five held when the broker died came back too.
    for (const d of heldGot) expect(seen.has((d.message as { seq: number }).seq)).toBe(true);
  }, 120_000);

  it('resumes a BrokerTransport consumer by itself after the broker restarts', async () => {
    const transportOf = async (service: string) =>
      new BrokerTransport({
        client: fleet.client(await fleet.service(service)),
        identity: `spiffe://flotilla.local/svc/${service}`,
        service,
      });
    const [sender, consumer] = [await transportOf('app'), await transportOf('worker')];
    const statuses: string[] = [];
    consumer.onStatus((s) => statuses.push(s));
    const q = `resume-${process.pid}-${Date.now()}`;
    const envelope = (): Envelope => ({
      id: randomUUID(),
      type: 'note',
      time: new Date().toISOString(),
      sender: sender.identity,
      attempt: 1,
      body: {},
    });
    const got: string[] = [];
    const running = await consumer.consume(
      { queue: q },
      async (d) => {
        got.push(decodeEnvelope(d.bytes).id);
        await d.ack();
      },
      { prefetch: 5 },
    );
    const first = envelope();
    await sender.send(q, first);
    await until('the first message', () => got.includes(first.id));
    await fleet.broker().kill('SIGKILL');
    await fleet.startBroker();
    const second = envelope();
    await until(
      'a send after the restart',
      () =>
        sender.send(q, second).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    await until('the resumed consumer gets it', () => got.includes(second.id), 30_000);
    expect(statuses).toContain('down');
    expect(statuses.at(-1)).toBe('up');
    await running.cancel();
    await Promise.all([sender.close(), consumer.close()]);
  }, 90_000);
});
