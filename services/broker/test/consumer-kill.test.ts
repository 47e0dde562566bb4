// A consumer killed (kill -9) in the middle of a handler: its message goes to another
// instance of the same service, marked redelivered. Both consumers are `worker` service
// processes (worker-main.ts) on ctx.bus; one table row per transport: the embedded
// broker always, RabbitMQ when BUS_URL is set.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defineMessage, Type } from '@flotilla/kit';
import { type ServiceProcess, spawnService } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet, until } from './fleet-harness.js';

const WORKER_MAIN = join(import.meta.dirname, 'worker-main.ts');
const Job = defineMessage('consumer-kill-job', Type.Object({ n: Type.Integer() }));

const busUrl = process.env.BUS_URL;
const transports: Array<{ name: string; env: Record<string, string>; skip: boolean }> = [
  // BUS_URL empty: the kit's bus is the fleet's embedded broker, even when the test's own environment names RabbitMQ.
  { name: 'the embedded broker', env: { BUS_URL: '' }, skip: false },
  { name: 'RabbitMQ (BUS_URL)', env: { BUS_URL: busUrl ?? '' }, skip: !busUrl },
];
if (!busUrl)
  console.warn(
    'consumer kill on RabbitMQ skipped: set BUS_URL=amqp://guest:guest@127.0.0.1:5672 (the embedded broker runs anyway)',
  );

interface Line {
  handling?: string;
  handled?: string;
  redelivered?: boolean;
  pid?: number;
}

/** The JSON lines a worker printed about messages. */
function lines(worker: ServiceProcess): Line[] {
  return worker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"handl'))
    .map((l) => JSON.parse(l) as Line);
}

/** Removes a RabbitMQ queue the test made (quorum queues are not free to keep); best effort. */
async function deleteRabbitQueue(name: string): Promise<void> {
  for (const q of [name, `${name}.dead`])
    await promisify(execFile)('rabbitmqctl', ['-q', 'delete_queue', q], { timeout: 30_000 }).catch(() => {});
}

let fleet: BrokerFleet;
const workers: ServiceProcess[] = [];
beforeAll(async () => {
  fleet = await brokerFleet();
}, 60_000);
afterAll(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  await fleet?.close();
}, 60_000);

describe.each(transports)('on $name', ({ name, env, skip }) => {
  it.skipIf(skip)(
    'redelivers to another instance the message of a consumer killed in its handler',
    async () => {
      const queue = `consumer-kill-${process.pid}-${Date.now()}`;
      const worker = async (hang: boolean) => {
        const w = await spawnService(WORKER_MAIN, {
          ...(await fleet.joinEnv('worker')),
          ...env,
          WORKER_QUEUE: queue,
          WORKER_HANG: hang ? '1' : '',
          LOG_LEVEL: 'warn',
        });
        workers.push(w);
        return w;
      };
      try {
        const a = await worker(true);
        const app = await fleet.service('app', env);
        const { id } = await app.ctx.bus.send(queue, Job, { n: 1 });
        await until(
          'instance A is inside its handler',
          () => lines(a).some((l) => l.handling === id),
          30_000,
        );
        const b = await worker(false);
        // B is up before A dies: B gets the message only because A died holding it.
        expect(lines(b)).toEqual([]);
        await a.kill('SIGKILL');
        await until('instance B handles the message', () => lines(b).some((l) => l.handled === id), 30_000);
        const handled = lines(b).find((l) => l.handled === id);
        console.log(
          `consumer kill on ${name}: A (pid ${a.pid}) killed in its handler, B (pid ${b.pid}) handled it`,
        );
        expect(handled).toEqual({ handled: id, redelivered: true, pid: b.pid });
        expect(lines(a).some((l) => l.handled === id)).toBe(false);
      } finally {
        if (env.BUS_URL) await deleteRabbitQueue(`flotilla.q.${queue}`);
      }
    },
    120_000,
  );
});
