// Messages per second through the embedded broker, end to end: a service sends on the
// kit's BrokerTransport (stored in the broker's database before the send resolves), the
// broker delivers over a delivery stream, the consumer's handler acknowledges. Latency is
// send → handler, measured in this process (one clock). The broker runs as its own
// process on PGlite (or PostgreSQL with DATABASE_URL), joined to a control plane here.
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl } from '@flotilla/control';
import { BrokerTransport, decodeEnvelope, defineService } from '@flotilla/kit';
import { BrokerClient } from '@flotilla/kit/contracts';
import { fleetJoiner, spawnService } from '@flotilla/testing';

const REPO = join(import.meta.dirname, '..', '..');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 3000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 16);
const PREFETCH = Number(process.env.BENCH_PREFETCH ?? 50);

const GRANT = `@id("bench-bus")
permit (principal == Service::"bench", action in [Action::"bus:Send", Action::"bus:Consume"], resource);
`;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-bench-broker-'));
  const policies = join(home, 'policies');
  await cp(join(REPO, 'policies'), policies, { recursive: true, filter: (s) => !s.includes('/tests') });
  await writeFile(join(policies, 'bench.cedar'), GRANT);
  const control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  const joined = fleetJoiner(control, { home, policies }, { LOG_LEVEL: 'warn' });
  const broker = await spawnService(join(REPO, 'services', 'broker', 'src', 'main.ts'), {
    ...(await joined('broker')),
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  });
  const svc = await defineService({ name: 'bench', routes() {} }).start({ env: await joined('bench') });
  const identity = 'spiffe://flotilla.local/svc/bench';
  const transport = new BrokerTransport({
    client: new BrokerClient((r) => svc.ctx.call('broker', r)),
    identity,
    service: 'bench',
  });
  try {
    const queue = `bench-${Date.now()}`;
    const latencies: number[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const consumer = await transport.consume(
      { queue },
      async (d) => {
        const sentAt = (decodeEnvelope(d.bytes).body as { t: number }).t;
        latencies.push(performance.now() - sentAt);
        await d.ack();
        if (latencies.length === MESSAGES) done();
      },
      { prefetch: PREFETCH },
    );
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < MESSAGES) {
          next++;
          await transport.send(queue, {
            id: randomUUID(),
            type: 'bench',
            time: new Date().toISOString(),
            sender: identity,
            attempt: 1,
            body: { t: performance.now() },
          });
        }
      }),
    );
    await all;
    const seconds = (performance.now() - started) / 1000;
    await consumer.cancel();
    latencies.sort((a, b) => a - b);
    console.log(
      `embedded broker (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}), ${MESSAGES} messages, ${SENDERS} senders, prefetch ${PREFETCH}; Node ${process.version}, ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `send → handler → ack: ${(MESSAGES / seconds).toFixed(0)} msg/s; latency p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms`,
    );
  } finally {
    await transport.close();
    await broker.kill('SIGKILL');
    await svc.stop();
    await control.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
