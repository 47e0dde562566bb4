// The broker as a process, against its clients over discovery and mTLS: queues, topics,
// redelivery, dead letters, back-pressure, authorisation, bad input.
import type { RunningService } from '@flotilla/kit';
import type { BrokerClient, Delivery, DeliveryStream } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet, refusal, until } from './fleet-harness.js';

let fleet: BrokerFleet;
let app: RunningService;
let worker: RunningService;
let appBus: BrokerClient;
let workerBus: BrokerClient;

beforeAll(async () => {
  fleet = await brokerFleet({
    BROKER_MAX_ATTEMPTS: '3',
    BROKER_RETRY_BASE_MS: '10',
    BROKER_MAX_QUEUE_DEPTH: '50',
    BROKER_MAX_MESSAGE_BYTES: '4096',
    BROKER_VISIBILITY_TIMEOUT_MS: '3000',
    BROKER_SWEEP_MS: '100',
  });
  app = await fleet.service('app');
  worker = await fleet.service('worker');
  appBus = fleet.client(app);
  workerBus = fleet.client(worker);
}, 60_000);
afterAll(async () => {
  await fleet?.close();
});

let seq = 0;
const uniq = (what: string) => `t${process.pid}-${what}-${++seq}`;

/** Collects a stream's deliveries as they come. */
function collect(stream: DeliveryStream): Delivery[] {
  const got: Delivery[] = [];
  void (async () => {
    try {
      for await (const d of stream.deliveries) got.push(d);
    } catch {
      // closed by the test
    }
  })();
  return got;
}

describe('queues', () => {
  it('stores a send, delivers it to one consumer with the sender from the certificate', async () => {
    const q = uniq('q');
    const stored = await appBus.send(q, { type: 'note', body: { n: 1 } });
    expect(stored.ids).toHaveLength(1);
    const stream = await workerBus.consume(q, 5);
    const got = collect(stream);
    await until('a delivery', () => got.length === 1);
    const [d] = got;
    expect(d).toMatchObject({ queue: q, attempt: 1, publisher: 'spiffe://flotilla.local/svc/app' });
    expect(d!.message).toMatchObject({
      type: 'note',
      body: { n: 1 },
      sender: 'spiffe://flotilla.local/svc/app',
    });
    await workerBus.ack(d!.consumer, d!.id);
    // Settled once: a second ack finds no lease.
    expect(await refusal(workerBus.ack(d!.consumer, d!.id))).toMatchObject({ code: 'FLT_BUS_LEASE_LOST' });
    stream.close();
  });

  it('shares a queue between consumers, at most prefetch unsettled each', async () => {
    const q = uniq('shared');
    const a = await workerBus.consume(q, 2);
    const b = await fleet.client(await fleet.service('worker')).consume(q, 2);
    const [gotA, gotB] = [collect(a), collect(b)];
    for (let i = 0; i < 10; i++) await appBus.send(q, { n: i });
    await until('both hold their prefetch', () => gotA.length === 2 && gotB.length === 2);
    const ids = new Set([...gotA, ...gotB].map((d) => d.id));
    expect(ids.size).toBe(4);
    a.close();
    b.close();
  });

  it('redelivers the messages of a consumer that went away before acknowledging', async () => {
    const q = uniq('redeliver');
    await appBus.send(q, { n: 1 });
    const doomed = await workerBus.consume(q, 1);
    const gotDoomed = collect(doomed);
    await until('the first delivery', () => gotDoomed.length === 1);
    doomed.close(); // its connection goes mid-handler, unacknowledged
    const next = await workerBus.consume(q, 1);
    const got = collect(next);
    await until('the redelivery', () => got.length === 1);
    expect(got[0]).toMatchObject({ id: gotDoomed[0]!.id, attempt: 2 });
    await workerBus.ack(got[0]!.consumer, got[0]!.id);
    next.close();
  });

  it('takes back a lease not settled within the visibility timeout; the late ack is refused', async () => {
    const q = uniq('stuck');
    await appBus.send(q, { n: 1 });
    const stuck = await workerBus.consume(q, 1);
    const gotStuck = collect(stuck);
    await until('the first delivery', () => gotStuck.length === 1);
    // The stuck consumer stays connected but never settles; another instance gets it.
    const other = await fleet.client(await fleet.service('worker')).consume(q, 1);
    const got = collect(other);
    await until('the redelivery after the timeout', () => got.length === 1);
    expect(got[0]).toMatchObject({ id: gotStuck[0]!.id, attempt: 2 });
    const late = gotStuck[0]!;
    expect(await refusal(workerBus.ack(late.consumer, late.id))).toMatchObject({
      code: 'FLT_BUS_LEASE_LOST',
      status: 409,
    });
    stuck.close();
    other.close();
  });

  it('dead-letters after the last attempt with the last error, and goes on', async () => {
    const q = uniq('poison');
    await appBus.send(q, { poison: true });
    await appBus.send(q, { poison: false });
    const stream = await workerBus.consume(q, 1);
    const handled: unknown[] = [];
    void (async () => {
      for await (const d of stream.deliveries) {
        if ((d.message as { poison: boolean }).poison)
          await workerBus.nack(d.consumer, d.id, `boom on attempt ${d.attempt}`);
        else {
          handled.push(d.message);
          await workerBus.ack(d.consumer, d.id);
        }
      }
    })().catch(() => {});
    await until('the good message', () => handled.length === 1);
    await until(
      'the poison message dead-lettered',
      async () => (await workerBus.deadLetters(q)).length === 1,
    );
    const [dead] = await workerBus.deadLetters(q);
    expect(dead).toMatchObject({ queue: q, attempts: 3, lastError: 'boom on attempt 3' });
    expect(dead!.message).toMatchObject({ poison: true });
    stream.close();
  });

  it('answers a full queue with 429 FLT_BUS_BACKPRESSURE, and a waiting sender gets through once it drains', async () => {
    const q = uniq('full');
    for (let i = 0; i < 50; i++) await appBus.send(q, { n: i });
    const impatient = fleet.client(app, { backPressureWaitMs: 0 });
    expect(await refusal(impatient.send(q, { n: 50 }))).toMatchObject({
      code: 'FLT_BUS_BACKPRESSURE',
      status: 429,
    });
    let sent = false;
    const waiting = appBus.send(q, { n: 51 }).then(() => (sent = true));
    const stream = await workerBus.consume(q, 1);
    const got = collect(stream);
    await until('one delivery', () => got.length === 1);
    expect(sent).toBe(false);
    await workerBus.ack(got[0]!.consumer, got[0]!.id);
    await waiting;
    stream.close();
  });
});

describe('topics', () => {
  it('gives each subscribing service one copy, shared by its instances', async () => {
    const t = uniq('topic');
    const history = [await fleet.service('history'), await fleet.service('history')];
    const recommendations = await fleet.service('recommendations');
    const streams = await Promise.all([
      ...history.map((s) => fleet.client(s).subscribed(t, 5)),
      fleet.client(recommendations).subscribed(t, 5),
    ]);
    const got = streams.map((s) => collect(s));
    const clients = [...history, recommendations].map((s) => fleet.client(s));
    // Settles as it goes, so the instances keep taking turns.
    const settled = new Set<string>();
    const settle = setInterval(() => {
      got.forEach((list, i) => {
        for (const d of list)
          if (!settled.has(`${i}:${d.id}`)) {
            settled.add(`${i}:${d.id}`);
            void clients[i]!.ack(d.consumer, d.id);
          }
      });
    }, 10);
    for (let n = 0; n < 20; n++) {
      const stored = await appBus.publish(t, { n });
      expect(stored.ids).toHaveLength(2);
    }
    const historyNs = () => [...got[0]!, ...got[1]!].map((d) => (d.message as { n: number }).n);
    await until(
      '20 for history, 20 for recommendations',
      () => historyNs().length === 20 && got[2]!.length === 20,
    );
    clearInterval(settle);
    expect(new Set(historyNs()).size).toBe(20);
    expect(got[0]!.length).toBeGreaterThan(0);
    expect(got[1]!.length).toBeGreaterThan(0);
    streams.forEach((s) => s.close());
  });
});

describe('authorisation', () => {
  it('refuses what the policies do not allow, and audits every denial', async () => {
    const stranger = fleet.client(await fleet.service('stranger'));
    const q = uniq('private');
    expect(await refusal(stranger.send(q, { n: 1 }))).toMatchObject({
      code: 'FLT_POLICY_DENIED',
      status: 403,
    });
    expect(await refusal(stranger.consume(q, 1))).toMatchObject({ code: 'FLT_POLICY_DENIED' });
    expect(await refusal(stranger.publish(q, { n: 1 }))).toMatchObject({ code: 'FLT_POLICY_DENIED' });
    // The worker may consume, not send.
    expect(await refusal(workerBus.send(q, { n: 1 }))).toMatchObject({ code: 'FLT_POLICY_DENIED' });
    const denials = (await fleet.audit()).filter(
      (r) => r.outcome === 'denied' && String(r.target).includes(q),
    );
    expect(denials.map((r) => r.actor)).toEqual([
      'spiffe://flotilla.local/svc/stranger',
      'spiffe://flotilla.local/svc/stranger',
      'spiffe://flotilla.local/svc/stranger',
      'spiffe://flotilla.local/svc/worker',
    ]);
    expect(denials.every((r) => r.reason === 'FLT_POLICY_DENIED')).toBe(true);
  });
});

describe('bad input', () => {
  const cases: Array<{
    name: string;
    path: (q: string) => string;
    body: string;
    status: number;
    code: string;
  }> = [
    {
      name: 'an oversized message',
      path: (q) => `/v1/queues/${q}/messages`,
      body: JSON.stringify({ message: { pad: 'x'.repeat(5000) } }),
      status: 413,
      code: 'FLT_BODY_TOO_LARGE',
    },
    {
      name: 'a bad queue name',
      path: () => '/v1/queues/Bad_Name/messages',
      body: JSON.stringify({ message: { n: 1 } }),
      status: 400,
      code: 'FLT_VALIDATION',
    },
    {
      name: 'bad JSON',
      path: (q) => `/v1/queues/${q}/messages`,
      body: '{"message":',
      status: 400,
      code: 'FLT_BODY_MALFORMED',
    },
    {
      name: 'a message that is not an object',
      path: (q) => `/v1/queues/${q}/messages`,
      body: JSON.stringify({ message: 'hello' }),
      status: 400,
      code: 'FLT_VALIDATION',
    },
    {
      name: 'a claimed sender that is not the caller',
      path: (q) => `/v1/queues/${q}/messages`,
      body: JSON.stringify({ message: { sender: 'spiffe://flotilla.local/svc/history' } }),
      status: 403,
      code: 'FLT_SENDER_MISMATCH',
    },
  ];
  const q = uniq('bad');

  it.each(cases)('$name is refused with problem+json $code, changes nothing, and is audited', async (c) => {
    const res = await app.ctx.call('broker', {
      method: 'POST',
      path: c.path(q),
      headers: { 'content-type': 'application/json' },
      body: c.body,
    });
    expect(res.statusCode).toBe(c.status);
    expect(String(res.headers['content-type'])).toContain('application/problem+json');
    expect(await res.body.json()).toMatchObject({ code: c.code, status: c.status });
    const audited = (await fleet.audit()).filter((r) => r.reason === c.code);
    expect(audited.length).toBeGreaterThan(0);
  });

  it('stored none of them', async () => {
    await appBus.send(q, { good: true });
    const stream = await workerBus.consume(q, 10);
    const got = collect(stream);
    await until('the good message', () => got.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((d) => d.message)).toEqual([{ good: true, sender: 'spiffe://flotilla.local/svc/app' }]);
    stream.close();
  });
});
