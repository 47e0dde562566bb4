// The operator's admin of the bus on the machine's RabbitMQ (BUS_URL), on queues of this
// run only: depths, a non-destructive read of dead letters, replays that never lose one.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpAdmin } from './amqp-admin.js';
import { deadName, queueName, subscriptionName } from './amqp-topology.js';
import { AmqpTransport } from './amqp.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import type { Consumer, Delivery } from './transport.js';

const url = process.env.BUS_URL;
if (!url) console.warn('RabbitMQ bus admin skipped: set BUS_URL=amqp://guest:guest@127.0.0.1:5672');

const identity = 'spiffe://flotilla.local/svc/admin-test';
const run = randomUUID().slice(0, 8);
const queue = `admin-${run}`;
const topic = `admin-t-${run}`;

const envelope = (n: number): Envelope => ({
  id: randomUUID(),
  type: 'job',
  time: new Date().toISOString(),
  sender: identity,
  attempt: 3,
  body: { n },
});

/** Collects deliveries of a source; `poison` dead-letters each instead of acking it. */
async function consumer(
  t: AmqpTransport,
  source: { queue: string } | { topic: string; group: string },
  poison: boolean,
): Promise<{ got: Envelope[]; stop: Consumer }> {
  const got: Envelope[] = [];
  const stop = await t.consume(
    source,
    async (d: Delivery) => {
      got.push(decodeEnvelope(d.bytes));
      if (poison) await d.deadLetter(`boom ${got.length}`);
      else await d.ack();
    },
    { prefetch: 10 },
  );
  return { got, stop };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!url)('the bus admin on RabbitMQ (BUS_URL)', () => {
  let transport: AmqpTransport;
  let admin: AmqpAdmin;
  const sent = [envelope(1), envelope(2), envelope(3)];

  beforeAll(async () => {
    transport = await AmqpTransport.open({ url: url!, identity });
    admin = await AmqpAdmin.open(url!);
    await transport.declareQueue(queue);
    for (const e of sent) await transport.send(queue, e);
    const poisoned = await consumer(transport, { queue }, true);
    await until('three dead letters', async () => (await admin.stats({ queue }))?.dead === 3);
    await poisoned.stop.cancel();
  }, 60_000);

  afterAll(async () => {
    await transport?.close();
    await admin?.close();
    if (!url) return;
    const model = await amqp.connect(url);
    const ch = await model.createChannel();
    for (const q of [queueName(queue), subscriptionName(topic, 'history')]) {
      await ch.deleteQueue(q);
      await ch.deleteQueue(deadName(q));
    }
    await ch.deleteExchange(`flotilla.t.${topic}`);
    await model.close();
  });

  it('reads depth, consumers and dead counts; an undeclared queue has none', async () => {
    // The broker forgets a cancelled consumer a moment after the cancel.
    await until('no consumer left', async () => (await admin.stats({ queue }))?.consumers === 0);
    expect(await admin.stats({ queue })).toEqual({
      queue: queueName(queue),
      depth: 0,
      consumers: 0,
      dead: 3,
    });
    expect(await admin.stats({ queue: `never-${run}` })).toBeUndefined();
  });

  it('lists dead letters and leaves them in place, in order', async () => {
    const first = await admin.deadLetters({ queue });
    expect(first.map((d) => d.id)).toEqual(sent.map((e) => e.id));
    expect(first[0]).toMatchObject({ type: 'job', sender: identity, reason: 'boom 1', attempts: 3 });
    expect(Date.parse(first[0]!.time)).not.toBeNaN();
    // A read, not a take: again the same, and the count is unchanged.
    expect((await admin.deadLetters({ queue })).map((d) => d.id)).toEqual(first.map((d) => d.id));
    expect((await admin.deadLetters({ queue }, 1)).map((d) => d.id)).toEqual([sent[0]!.id]);
    expect((await admin.stats({ queue }))?.dead).toBe(3);
  });

  it('replays one by id, attempt reset, the others untouched; an unknown id changes nothing', async () => {
    await expect(admin.replay({ queue }, randomUUID())).rejects.toMatchObject({ code: 'FLT_NOT_FOUND' });
    expect((await admin.stats({ queue }))?.dead).toBe(3);
    await admin.replay({ queue }, sent[1]!.id);
    expect(await admin.stats({ queue })).toMatchObject({ depth: 1, dead: 2 });
    expect((await admin.deadLetters({ queue })).map((d) => d.id)).toEqual([sent[0]!.id, sent[2]!.id]);
    const healthy = await consumer(transport, { queue }, false);
    await until('the replayed message handled', () => healthy.got.length === 1);
    expect(healthy.got[0]).toMatchObject({ id: sent[1]!.id, attempt: 1, body: { n: 2 } });
    await healthy.stop.cancel();
  });

  it('replays all of a queue, then finds none', async () => {
    expect(await admin.replayAll({ queue })).toBe(2);
    const healthy = await consumer(transport, { queue }, false);
    await until('both replayed messages handled', () => healthy.got.length === 2);
    expect(healthy.got.map((e) => e.id).sort()).toEqual([sent[0]!.id, sent[2]!.id].sort());
    expect(healthy.got.every((e) => e.attempt === 1)).toBe(true);
    await healthy.stop.cancel();
    expect(await admin.stats({ queue })).toMatchObject({ depth: 0, dead: 0 });
    expect(await admin.replayAll({ queue })).toBe(0);
  });

  it("replays a topic subscription's dead letters to that subscription", async () => {
    const source = { topic, group: 'history' };
    await transport.declareSubscription(topic, 'history');
    const e = envelope(7);
    await transport.publish(topic, e);
    const poisoned = await consumer(transport, source, true);
    await until('a dead letter', async () => (await admin.stats(source))?.dead === 1);
    await poisoned.stop.cancel();
    expect((await admin.deadLetters(source)).map((d) => d.id)).toEqual([e.id]);
    expect(await admin.replayAll(source)).toBe(1);
    const healthy = await consumer(transport, source, false);
    await until('the replayed copy handled', () => healthy.got.length === 1);
    expect(healthy.got[0]).toMatchObject({ id: e.id, attempt: 1 });
    await healthy.stop.cancel();
  });

  it('refuses a source that does not exist', async () => {
    await expect(admin.deadLetters({ queue: `never-${run}` })).rejects.toMatchObject({
      code: 'FLT_NOT_FOUND',
    });
  });
});
