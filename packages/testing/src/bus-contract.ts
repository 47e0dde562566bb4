// Over 400 lines on purpose: one contract, every case beside the others, so that a
// transport is held to all of it at once (the cases share one fixture per run).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AuditEvent,
  Bus,
  type BusTransport,
  decodeEnvelope,
  defineMessage,
  FlotillaError,
  serviceSpiffeId,
  Type,
} from '@flotilla/kit';
import { Authorizer } from '@flotilla/policy';
import pino from 'pino';
import { Registry } from 'prom-client';

/** How long a case waits for what should happen on any broker on this machine (not a speed test). */
export const BUS_CONTRACT_WAIT_MS = 15_000;

/** What a transport under test provides: a new connection speaking for one SPIFFE ID. */
export interface BusContractEnds {
  transport(identity: string): Promise<BusTransport>;
}

/** One check of the contract; every transport passes every one. */
export interface BusContractCase {
  name: string;
  run(ends: BusContractEnds): Promise<void>;
}

/** A marker of this test process in every queue and topic name the contract makes up. */
export const BUS_CONTRACT_RUN = `ct-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

const unique = (what: string) => `${BUS_CONTRACT_RUN}-${what}-${Math.random().toString(36).slice(2, 8)}`;

const Note = defineMessage('note', Type.Object({ n: Type.Integer() }, { additionalProperties: false }));
/** The same type name with a looser schema: what a buggy or stale sender would put on the wire. */
const LooseNote = defineMessage('note', Type.Object({ n: Type.Unknown() }));

const SCHEMA = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'policies', 'schema.cedarschema'),
  'utf8',
);

type Grant = [
  service: string,
  action: 'bus:Send' | 'bus:Publish' | 'bus:Consume' | 'bus:Subscribe',
  name: string,
];

/** The fleet's schema with exactly these permits: everything else is denied. */
function policiesOf(grants: Grant[]): Authorizer {
  const permits = grants.map(([service, action, name]) => {
    const kind = action === 'bus:Send' || action === 'bus:Consume' ? 'Queue' : 'Topic';
    return `permit (principal == Service::"${service}", action == Action::"${action}", resource == ${kind}::"${name}");`;
  });
  return new Authorizer({ schema: SCHEMA, files: { 'bus-contract.cedar': permits.join('\n') } });
}

/** One service instance's bus on its own connection, with what it audited. */
interface Instance {
  bus: Bus;
  transport: BusTransport;
  audit: AuditEvent[];
  metrics: Registry;
}

/** A fleet of bus instances under one policy set; closes them all at the end. */
class Fleet {
  private readonly instances: Instance[] = [];
  constructor(
    private readonly ends: BusContractEnds,
    private readonly policy: Authorizer,
  ) {}

  async instance(service: string): Promise<Instance> {
    const transport = await this.ends.transport(serviceSpiffeId('flotilla.local', service));
    const audit: AuditEvent[] = [];
    const metrics = new Registry();
    const bus = new Bus({
      service,
      identity: transport.identity,
      transport,
      policy: () => this.policy,
      audit: async (e) => audit.push(e),
      metrics,
      log: pino({ level: 'silent' }),
    });
    const instance = { bus, transport, audit, metrics };
    this.instances.push(instance);
    return instance;
  }

  async close(): Promise<void> {
    for (const { bus, transport } of this.instances) {
      await bus.close();
      await transport.close();
    }
  }
}

async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = BUS_CONTRACT_WAIT_MS,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await sleep(20);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof FlotillaError, `a FlotillaError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Counts handlings per message id. */
function tally(): { seen: Map<string, number>; handle: (id: string) => void; total: () => number } {
  const seen = new Map<string, number>();
  return {
    seen,
    handle: (id) => seen.set(id, (seen.get(id) ?? 0) + 1),
    total: () => [...seen.values()].reduce((a, b) => a + b, 0),
  };
}

const fast = { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } };

async function withFleet(
  ends: BusContractEnds,
  grants: Grant[],
  fn: (fleet: Fleet) => Promise<void>,
): Promise<void> {
  const fleet = new Fleet(ends, policiesOf(grants));
  try {
    await fn(fleet);
  } finally {
    await fleet.close();
  }
}

/**
 * The bus contract: what the kit's bus does on every transport (RabbitMQ, the embedded
 * broker). Each case makes its own queues and topics, named after BUS_CONTRACT_RUN.
 *
 * @example
 * for (const c of busContract()) it(c.name, () => c.run({ transport: (id) => AmqpTransport.open({ url, identity: id }) }));
 */
export function busContract(): BusContractCase[] {
  return [
    {
      name: 'single-recipient: one consumer among all handles each message',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
            ['auditor', 'bus:Consume', q],
          ],
          async (fleet) => {
            const counts = tally();
            const consumers = [
              await fleet.instance('worker'),
              await fleet.instance('worker'),
              await fleet.instance('auditor'),
            ];
            for (const c of consumers) await c.bus.consume(q, Note, async (_b, m) => counts.handle(m.id));
            const sender = await fleet.instance('sender');
            const sent = [];
            for (let n = 0; n < 30; n++) sent.push((await sender.bus.send(q, Note, { n })).id);
            await until('all 30 handled', () => counts.total() >= 30);
            await sleep(200); // a duplicate would show up now
            assert.deepEqual([...counts.seen.keys()].sort(), [...sent].sort());
            assert.ok(
              [...counts.seen.values()].every((c) => c === 1),
              'each message handled once',
            );
          },
        );
      },
    },
    {
      name: 'multiple-recipient: each subscribing service once, shared by its instances',
      run: (ends) => {
        const t = unique('t');
        return withFleet(
          ends,
          [
            ['uploader', 'bus:Publish', t],
            ['history', 'bus:Subscribe', t],
            ['recommend', 'bus:Subscribe', t],
          ],
          async (fleet) => {
            // Two instances of each subscribing service: one copy per service, and the
            // instances of a service share it (each handles some, none gets a copy of its own).
            const groups = { history: tally(), recommend: tally() };
            const perInstance = { history: [0, 0], recommend: [0, 0] };
            for (const service of ['history', 'recommend'] as const)
              for (const i of [0, 1]) {
                const instance = await fleet.instance(service);
                await instance.bus.subscribe(t, Note, async (_b, m) => {
                  groups[service].handle(m.id);
                  perInstance[service][i]! += 1;
                });
              }
            const uploader = await fleet.instance('uploader');
            const sent = [];
            for (let n = 0; n < 30; n++) sent.push((await uploader.bus.publish(t, Note, { n })).id);
            await until(
              'both services handle all 30',
              () => groups.history.total() >= 30 && groups.recommend.total() >= 30,
            );
            await sleep(200); // a duplicate would show up now
            for (const service of ['history', 'recommend'] as const) {
              const counts = groups[service];
              assert.deepEqual(
                [...counts.seen.keys()].sort(),
                [...sent].sort(),
                `${service} got every message`,
              );
              assert.ok(
                [...counts.seen.values()].every((c) => c === 1),
                `${service} handled each once`,
              );
              assert.equal(
                perInstance[service].reduce((a, b) => a + b),
                30,
                `${service}'s instances share one copy`,
              );
              assert.ok(
                perInstance[service].every((n) => n > 0),
                `both ${service} instances take turns: ${perInstance[service].join(' + ')}`,
              );
            }
          },
        );
      },
    },
    {
      name: 'acknowledges only after success: a throw is retried, with the attempt counted',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
          ],
          async (fleet) => {
            const attempts: number[] = [];
            const worker = await fleet.instance('worker');
            await worker.bus.consume(
              q,
              Note,
              async (_b, m) => {
                attempts.push(m.attempt);
                if (m.attempt === 1) throw new Error('flaky');
              },
              fast,
            );
            const sender = await fleet.instance('sender');
            await sender.bus.send(q, Note, { n: 1 });
            await until('handled on the second attempt', () => attempts.length >= 2);
            assert.deepEqual(attempts, [1, 2]);
            assert.deepEqual(await worker.transport.deadLetters({ queue: q }, 10), []);
          },
        );
      },
    },
    {
      name: 'redelivers the message of a consumer that died before acknowledging',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
          ],
          async (fleet) => {
            const doomed = await fleet.instance('worker');
            let heldBy: string | undefined;
            await doomed.bus.consume(q, Note, async (_b, m) => {
              heldBy = m.id;
              await new Promise(() => undefined); // never finishes: it dies holding the message
            });
            const sender = await fleet.instance('sender');
            const { id } = await sender.bus.send(q, Note, { n: 7 });
            await until('the first consumer holds it', () => heldBy === id);
            await doomed.transport.close(); // as a kill -9 would: the connection goes, unacknowledged
            const redelivered: { id: string; redelivered: boolean }[] = [];
            const survivor = await fleet.instance('worker');
            await survivor.bus.consume(q, Note, async (_b, m) => {
              redelivered.push({ id: m.id, redelivered: m.redelivered });
            });
            await until('another consumer gets it', () => redelivered.length > 0);
            assert.deepEqual(redelivered[0], { id, redelivered: true });
          },
        );
      },
    },
    {
      name: 'a consumer cancelled mid-handler lets it finish: acknowledged, not delivered again',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
          ],
          async (fleet) => {
            const stopping = await fleet.instance('worker');
            let release!: () => void;
            const held = new Promise<void>((r) => (release = r));
            let started: string | undefined;
            const handled: string[] = [];
            const consumer = await stopping.bus.consume(q, Note, async (_b, m) => {
              started = m.id;
              await held; // still running when the cancel comes (a rolling restart)
              handled.push(m.id);
            });
            const sender = await fleet.instance('sender');
            const { id } = await sender.bus.send(q, Note, { n: 1 });
            await until('the handler runs', () => started === id);
            const cancelled = consumer.cancel();
            await sleep(100);
            release();
            await cancelled;
            assert.deepEqual(handled, [id]);
            const again: string[] = [];
            const next = await fleet.instance('worker');
            await next.bus.consume(q, Note, async (_b, m) => void again.push(m.id));
            await sleep(1000); // a redelivery would show up now
            assert.deepEqual(again, [], 'the handled message is not delivered again');
          },
        );
      },
    },
    {
      name: 'a poison message is dead-lettered with its last error after N tries; the consumer goes on',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
          ],
          async (fleet) => {
            const worker = await fleet.instance('worker');
            const handled: number[] = [];
            let tries = 0;
            await worker.bus.consume(
              q,
              Note,
              async (body) => {
                if (body.n === 666) {
                  tries += 1;
                  throw new Error(`poison ${tries}`);
                }
                handled.push(body.n);
              },
              fast,
            );
            const sender = await fleet.instance('sender');
            const poison = await sender.bus.send(q, Note, { n: 666 });
            await sender.bus.send(q, Note, { n: 1 });
            await until('the good message is handled', () => handled.includes(1));
            const dead = async () => worker.transport.deadLetters({ queue: q }, 10);
            await until('the poison message is dead-lettered', async () => (await dead()).length === 1);
            const [letter] = await dead();
            assert.equal(tries, 3);
            assert.match(letter!.reason, /3 times.*poison 3/);
            assert.equal(decodeEnvelope(letter!.bytes).id, poison.id);
            await sender.bus.send(q, Note, { n: 2 });
            await until('the consumer keeps going', () => handled.includes(2));
            let counted = '';
            const count = (outcome: string) =>
              Number(new RegExp(`destination="${q}",outcome="${outcome}"} (\\d+)`).exec(counted)?.[1] ?? 0);
            // An ack is counted once the broker answers it, a moment after the handler returns.
            await until('the second ack is counted', async () => {
              counted = await worker.metrics.getSingleMetricAsString('flotilla_bus_messages_total');
              return count('acked') >= 2;
            });
            assert.deepEqual(
              { retried: count('retried'), dead: count('dead_lettered'), acked: count('acked') },
              { retried: 2, dead: 1, acked: 2 },
              'the bus counts retries, dead letters and acks per queue',
            );
          },
        );
      },
    },
    {
      name: 'a message that fails its schema is refused at send, and dead-lettered with the reason at receipt',
      run: (ends) => {
        const q = unique('q');
        return withFleet(
          ends,
          [
            ['sender', 'bus:Send', q],
            ['worker', 'bus:Consume', q],
          ],
          async (fleet) => {
            const sender = await fleet.instance('sender');
            await rejectsWith(sender.bus.send(q, Note, { n: 'one' } as never), 'FLT_MESSAGE_INVALID');
            const worker = await fleet.instance('worker');
            const handled: unknown[] = [];
            await worker.bus.consume(q, Note, async (body) => void handled.push(body.n), fast);
            await sender.bus.send(q, LooseNote, { n: 'one' });
            await sender.bus.send(q, Note, { n: 2 });
            await until('the valid message is handled', () => handled.includes(2));
            await until('the invalid one is dead-lettered', async () => {
              return (await worker.transport.deadLetters({ queue: q }, 10)).length === 1;
            });
            const [letter] = await worker.transport.deadLetters({ queue: q }, 10);
            assert.match(letter!.reason, /note\/n/);
            assert.deepEqual(handled, [2], 'neither the refused nor the invalid message reached the handler');
          },
        );
      },
    },
    {
      name: 'what the policies do not allow is refused and audited',
      run: (ends) => {
        const q = unique('q');
        const t = unique('t');
        return withFleet(ends, [['sender', 'bus:Send', q]], async (fleet) => {
          const stranger = await fleet.instance('stranger');
          await rejectsWith(stranger.bus.send(q, Note, { n: 1 }), 'FLT_POLICY_DENIED');
          await rejectsWith(stranger.bus.publish(t, Note, { n: 1 }), 'FLT_POLICY_DENIED');
          await rejectsWith(
            stranger.bus.consume(q, Note, async () => undefined),
            'FLT_POLICY_DENIED',
          );
          await rejectsWith(
            stranger.bus.subscribe(t, Note, async () => undefined),
            'FLT_POLICY_DENIED',
          );
          const sender = await fleet.instance('sender');
          await rejectsWith(
            sender.bus.consume(q, Note, async () => undefined),
            'FLT_POLICY_DENIED',
          );
          assert.deepEqual(
            stranger.audit.map((e) => [e.action, e.outcome, e.target]),
            [
              ['bus.deny', 'denied', `Queue::"${q}"`],
              ['bus.deny', 'denied', `Topic::"${t}"`],
              ['bus.deny', 'denied', `Queue::"${q}"`],
              ['bus.deny', 'denied', `Topic::"${t}"`],
            ],
          );
          assert.equal(stranger.audit[0]!.actor, stranger.transport.identity);
          assert.equal(sender.audit.length, 1);
        });
      },
    },
    {
      name: 'a message whose claimed sender is not the connection identity is refused',
      run: (ends) => {
        const q = unique('q');
        return withFleet(ends, [['sender', 'bus:Send', q]], async (fleet) => {
          const sender = await fleet.instance('sender');
          await sender.transport.declareQueue(q);
          const forged = {
            id: '6f1c1d9e-8d6b-4a53-9d1e-3c1b8f0a2b7c',
            type: 'note',
            time: new Date().toISOString(),
            sender: serviceSpiffeId('flotilla.local', 'someone-else'),
            attempt: 1,
            body: { n: 1 },
          };
          await rejectsWith(sender.transport.send(q, forged), 'FLT_SENDER_MISMATCH');
        });
      },
    },
    {
      name: 'an oversized message is refused at send',
      run: (ends) => {
        const q = unique('q');
        return withFleet(ends, [['sender', 'bus:Send', q]], async (fleet) => {
          const Big = defineMessage('big', Type.Object({ text: Type.String() }));
          const sender = await fleet.instance('sender');
          await rejectsWith(
            sender.bus.send(q, Big, { text: 'x'.repeat(300 * 1024) }),
            'FLT_MESSAGE_TOO_LARGE',
          );
        });
      },
    },
  ];
}
