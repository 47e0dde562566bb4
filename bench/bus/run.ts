// Send → handler → ack through three paths, in one run, on one clock:
//   (a) raw amqplib with the kit's durability: confirm channel, durable quorum queue with a
//       dead-letter queue, persistent messages, manual ack, the same prefetch and senders;
//   (b) the kit's ctx.bus on RabbitMQ (BUS_URL): the same, plus message types checked on
//       send and receipt, Cedar on every send and consume, metrics, envelopes;
//   (c) the kit's ctx.bus on the embedded broker (services/broker over mTLS, PGlite).
// Prints msg/s and send → handler latency (p50, p99) for each, and (b)/(a), (c)/(a).
//   BUS_URL=amqp://guest:guest@127.0.0.1:5672 npx tsx bench/bus/run.ts
// Knobs: BENCH_MESSAGES (3000), BENCH_SENDERS (16), BENCH_PREFETCH (50), BENCH_ROUNDS (2).
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl } from '@flotilla/control';
import { defineMessage, defineService, type RunningService, Type } from '@flotilla/kit';
import { fleetJoiner, spawnService } from '@flotilla/testing';
import amqp from 'amqplib';

const REPO = join(import.meta.dirname, '..', '..');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 3000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 16);
const PREFETCH = Number(process.env.BENCH_PREFETCH ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BUS_URL = process.env.BUS_URL;

const GRANT = `@id("bench-bus")
permit (principal == Service::"bench", action in [Action::"bus:Send", Action::"bus:Consume"], resource);
`;
const Tick = defineMessage('bench.tick', Type.Object({ t: Type.Number(), pad: Type.String() }));
const PAD = 'x'.repeat(200); // a small event, like FlixTube's `viewed`

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** One round: SENDERS concurrent senders, one consumer, MESSAGES messages, timed end to end. */
async function measure(
  consume: (onMessage: (sentAt: number) => void) => Promise<() => Promise<void>>,
  send: (body: { t: number; pad: string }) => Promise<unknown>,
): Promise<Figures> {
  const latencies: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const stop = await consume((sentAt) => {
    latencies.push(performance.now() - sentAt);
    if (latencies.length === MESSAGES) done();
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < MESSAGES) {
        next++;
        await send({ t: performance.now(), pad: PAD });
      }
    }),
  );
  await all;
  const seconds = (performance.now() - started) / 1000;
  await stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return { perSecond: MESSAGES / seconds, p50: pct(0.5), p99: pct(0.99) };
}

/** (a): what a careful amqplib user writes for the same guarantees. */
async function rawAmqp(url: string): Promise<Figures> {
  const conn = await amqp.connect(url, { noDelay: true });
  try {
    const confirm = await conn.createConfirmChannel();
    const queue = `bench.raw.${randomUUID()}`;
    await confirm.assertQueue(`${queue}.dead`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await confirm.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': `${queue}.dead`,
      },
    });
    const figures = await measure(
      async (onMessage) => {
        const ch = await conn.createChannel();
        await ch.prefetch(PREFETCH);
        const { consumerTag } = await ch.consume(queue, (msg) => {
          if (!msg) return;
          const message = JSON.parse(msg.content.toString('utf8')) as { body: { t: number } };
          onMessage(message.body.t);
          ch.ack(msg);
        });
        return async () => {
          await ch.cancel(consumerTag);
          await ch.close();
        };
      },
      (body) =>
        new Promise<void>((resolve, reject) => {
          const message = JSON.stringify({
            id: randomUUID(),
            type: 'bench.tick',
            time: new Date().toISOString(),
            body,
          });
          confirm.sendToQueue(
            queue,
            Buffer.from(message),
            { persistent: true, contentType: 'application/json' },
            (err: unknown) =>
              err ? reject(new Error('the broker refused the message', { cause: err })) : resolve(),
          );
        }),
    );
    await confirm.deleteQueue(queue);
    await confirm.deleteQueue(`${queue}.dead`);
    return figures;
  } finally {
    await conn.close();
  }
}

/** (b) and (c): the kit's ctx.bus, whichever transport the service's environment selects. */
async function kitBus(svc: RunningService): Promise<Figures> {
  const queue = `bench-${randomUUID()}`;
  return measure(
    async (onMessage) => {
      const consumer = await svc.ctx.bus.consume(queue, Tick, async (body) => onMessage(body.t), {
        prefetch: PREFETCH,
      });
      return () => consumer.cancel();
    },
    (body) => svc.ctx.bus.send(queue, Tick, body),
  );
}

function best(runs: Figures[]): Figures {
  return runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
}

const line = (label: string, f: Figures) =>
  `${label.padEnd(34)} ${f.perSecond.toFixed(0).padStart(6)} msg/s   p50 ${f.p50.toFixed(1).padStart(6)} ms   p99 ${f.p99.toFixed(1).padStart(7)} ms`;

async function main(): Promise<void> {
  if (!BUS_URL) {
    console.error('bench/bus needs BUS_URL (amqp://guest:guest@127.0.0.1:5672) for (a) and (b)');
    process.exit(2);
  }
  const home = await mkdtemp(join(tmpdir(), 'flotilla-bench-bus-'));
  const policies = join(home, 'policies');
  await cp(join(REPO, 'policies'), policies, { recursive: true, filter: (s) => !s.includes('/tests') });
  await writeFile(join(policies, 'bench.cedar'), GRANT);
  const control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  const joined = fleetJoiner(control, { home, policies }, { LOG_LEVEL: 'warn' });
  const broker = await spawnService(
    join(REPO, 'services', 'broker', 'src', 'main.ts'),
    await joined('broker'),
  );
  const def = defineService({ name: 'bench', routes() {} });
  const onRabbit = await def.start({ env: { ...(await joined('bench')), BUS_URL } });
  const onEmbedded = await def.start({ env: { ...(await joined('bench')), BUS_URL: undefined } });
  try {
    const runs: Record<'a' | 'b' | 'c', Figures[]> = { a: [], b: [], c: [] };
    // Interleaved rounds, so that a burst of load on this shared host hits every path.
    for (let round = 0; round < ROUNDS; round++) {
      runs.a.push(await rawAmqp(BUS_URL));
      runs.b.push(await kitBus(onRabbit));
      runs.c.push(await kitBus(onEmbedded));
    }
    const [a, b, c] = [best(runs.a), best(runs.b), best(runs.c)];
    console.log(
      `${MESSAGES} messages × ${ROUNDS} rounds (best shown), ${SENDERS} senders, prefetch ${PREFETCH}; ` +
        `Node ${process.version}, ${cpus().length} cores, load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    console.log(line('(a) raw amqplib, same durability', a));
    console.log(line('(b) kit ctx.bus on RabbitMQ', b));
    console.log(line('(c) kit ctx.bus, embedded broker', c));
    console.log(
      `(b)/(a) = ${(b.perSecond / a.perSecond).toFixed(2)} (target ≥ 0.9)   (c)/(a) = ${(c.perSecond / a.perSecond).toFixed(2)} (target ≥ 1.0)`,
    );
  } finally {
    await onRabbit.stop();
    await onEmbedded.stop();
    await broker.kill('SIGKILL');
    await control.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
