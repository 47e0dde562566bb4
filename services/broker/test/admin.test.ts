// The broker's administration routes (/v1/admin/*) as the operator and as services:
// depths, dead letters, replays; Cedar bus:Inspect / bus:Replay (the operator only),
// problem+json refusals, and an audit record with the caller's identity for each.
import type { RunningService } from '@flotilla/kit';
import {
  BrokerAdminClient,
  type BrokerClient,
  type Delivery,
  type DeliveryStream,
} from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet, refusal, until } from './fleet-harness.js';

let fleet: BrokerFleet;
let appBus: BrokerClient;
let workerBus: BrokerClient;
let historyBus: BrokerClient;
let admin: BrokerAdminClient;
let worker: RunningService;

const APP = 'spiffe://flotilla.local/svc/app';
const OPERATOR = 'spiffe://flotilla.local/svc/operator';

const adminOf = (svc: RunningService) => new BrokerAdminClient((r) => svc.ctx.call('broker', r));

beforeAll(async () => {
  fleet = await brokerFleet({ BROKER_MAX_ATTEMPTS: '3', BROKER_RETRY_BASE_MS: '10', BROKER_SWEEP_MS: '100' });
  appBus = fleet.client(await fleet.service('app'));
  worker = await fleet.service('worker');
  workerBus = fleet.client(worker);
  historyBus = fleet.client(await fleet.service('history'));
  admin = adminOf(await fleet.service('operator'));
}, 60_000);
afterAll(async () => {
  await fleet?.close();
});

let seq = 0;
const uniq = (what: string) => `a${process.pid}-${what}-${++seq}`;

/** Dead-letters every delivery of `stream` at once (retry: false) with `reason`. */
function poison(bus: BrokerClient, stream: DeliveryStream, reason: string): Delivery[] {
  const seen: Delivery[] = [];
  void (async () => {
    try {
      for await (const d of stream.deliveries) {
        seen.push(d);
        await bus.nack(d.consumer, d.id, reason, false);
      }
    } catch {
      // closed by the test
    }
  })();
  return seen;
}

/** The next `n` deliveries of a queue, acknowledged. */
async function take(queue: string, n: number): Promise<Delivery[]> {
  const stream = await workerBus.consume(queue, 10);
  const got: Delivery[] = [];
  for await (const d of stream.deliveries) {
    got.push(d);
    await workerBus.ack(d.consumer, d.id);
    if (got.length === n) break;
  }
  stream.close();
  return got;
}

describe('dead letters and replay, as the operator', () => {
  let q: string;
  beforeAll(async () => {
    q = uniq('jobs');
    for (let n = 1; n <= 3; n++)
      await appBus.send(q, {
        id: `00000000-0000-4000-8000-00000000000${n}`,
        type: 'job',
        attempt: 4,
        body: { n },
      });
    const stream = await workerBus.consume(q, 5);
    poison(workerBus, stream, 'handler threw: boom');
    await until('three dead letters', async () => (await admin.deadLetters({ queue: q })).length === 3);
    stream.close();
  });

  it('lists each queue with its depth, in-flight and dead counts', async () => {
    await appBus.send(q, { type: 'job', body: { n: 9 } });
    const queues = await admin.queues();
    expect(queues.find((x) => x.queue === q)).toEqual({ queue: q, depth: 1, inFlight: 0, dead: 3 });
    await take(q, 1);
  });

  it('lists the dead letters with type, sender, reason, time and attempts', async () => {
    const dead = await admin.deadLetters({ queue: q });
    expect(dead.map((d) => d.messageId)).toEqual([
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000002',
      '00000000-0000-4000-8000-000000000003',
    ]);
    expect(dead[0]).toMatchObject({
      queue: q,
      type: 'job',
      sender: APP,
      reason: 'handler threw: boom',
      attempts: 1,
    });
    expect(Date.parse(dead[0]!.time)).not.toBeNaN();
    // Every queue's, when none is named.
    expect((await admin.deadLetters()).filter((d) => d.queue === q)).toHaveLength(3);
  });

  it('replays one dead letter to its queue with its attempt reset, then the rest', async () => {
    const [first] = await admin.deadLetters({ queue: q });
    const result = await admin.replay(first!.id);
    expect(result.replayed).toEqual([{ id: first!.id, queue: q, newId: expect.any(String) }]);
    expect((await admin.queues()).find((x) => x.queue === q)).toMatchObject({ depth: 1, dead: 2 });
    const [again] = await take(q, 1);
    expect(again).toMatchObject({ attempt: 1, publisher: APP });
    expect(again!.message).toMatchObject({ id: first!.messageId, attempt: 1, sender: APP, body: { n: 1 } });

    const rest = await admin.replayAll({ queue: q });
    expect(rest.replayed.map((r) => r.queue)).toEqual([q, q]);
    const got = await take(q, 2);
    expect(got.map((d) => (d.message.body as { n: number }).n)).toEqual([2, 3]);
    expect(await admin.deadLetters({ queue: q })).toEqual([]);
    expect(await admin.replayAll({ queue: q })).toEqual({ replayed: [] });
  });

  it('answers an unknown dead letter with 404 problem+json, changing nothing', async () => {
    expect(await refusal(admin.replay('987654321'))).toMatchObject({ code: 'FLT_NOT_FOUND', status: 404 });
    expect(await refusal(admin.replay('not-a-number'))).toMatchObject({
      code: 'FLT_VALIDATION',
      status: 400,
    });
    expect(await refusal(admin.deadLetters({ topic: 'x' } as never))).toMatchObject({
      code: 'FLT_VALIDATION',
    });
  });

  it('audits each inspection and replay with the operator identity', async () => {
    const records = (await fleet.audit()).filter((r) => r.actor === OPERATOR);
    expect(records.some((r) => r.action === 'bus.inspect' && r.outcome === 'success')).toBe(true);
    const replays = records.filter((r) => r.action === 'bus.replay' && r.target === q);
    expect(replays.map((r) => (r.details as { replayed: string[] }).replayed.length)).toEqual([1, 2, 0]);
  });
});

describe("a topic subscription's dead letters", () => {
  it('are listed and replayed by topic and group', async () => {
    const t = uniq('uploaded');
    await historyBus.subscribe(t);
    await appBus.publish(t, { type: 'uploaded', body: { v: 1 } });
    const stream = await historyBus.subscribed(t, 5);
    poison(historyBus, stream, 'schema: /body/v must be string');
    const source = { topic: t, group: 'history' };
    await until('a dead letter', async () => (await admin.deadLetters(source)).length === 1);
    stream.close();
    const [dead] = await admin.deadLetters(source);
    expect(dead).toMatchObject({ queue: `topic:${t}:history`, topic: t, group: 'history', type: 'uploaded' });
    expect((await admin.queues()).find((x) => x.queue === `topic:${t}:history`)).toMatchObject({
      topic: t,
      group: 'history',
      dead: 1,
    });
    expect((await admin.replayAll(source)).replayed).toHaveLength(1);
    const again = await historyBus.subscribed(t, 5);
    for await (const d of again.deliveries) {
      expect(d.message).toMatchObject({ body: { v: 1 } });
      await historyBus.ack(d.consumer, d.id);
      break;
    }
    again.close();
  });
});

describe('services', () => {
  it('may not inspect or replay, even their own queues: denied, audited, nothing changed', async () => {
    const q = uniq('own');
    await appBus.send(q, { type: 'job', body: {} });
    const stream = await workerBus.consume(q, 1);
    poison(workerBus, stream, 'nope');
    await until('a dead letter', async () => (await admin.deadLetters({ queue: q })).length === 1);
    stream.close();
    const [dead] = await admin.deadLetters({ queue: q });
    const mine = adminOf(worker);
    for (const attempt of [
      mine.queues(),
      mine.deadLetters({ queue: q }),
      mine.deadLetters(),
      mine.replay(dead!.id),
      mine.replayAll({ queue: q }),
    ])
      expect(await refusal(attempt)).toMatchObject({ code: 'FLT_POLICY_DENIED', status: 403 });
    expect(await admin.deadLetters({ queue: q })).toHaveLength(1);
    const denied = (await fleet.audit()).filter(
      (r) => r.actor === 'spiffe://flotilla.local/svc/worker' && r.outcome === 'denied',
    );
    expect(denied.map((r) => r.target)).toEqual(
      expect.arrayContaining([
        'GET /v1/admin/queues',
        'GET /v1/admin/dead-letters',
        'POST /v1/admin/replays',
      ]),
    );
  });
});
