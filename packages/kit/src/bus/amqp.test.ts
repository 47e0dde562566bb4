import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BUS_CONTRACT_RUN, busContract } from '@flotilla/testing';
import amqp from 'amqplib';
import { afterAll, describe, it } from 'vitest';
import { AmqpTransport } from './amqp.js';
import type { BusTransport } from './transport.js';

const url = process.env.BUS_URL;
if (!url) console.warn('bus contract on RabbitMQ skipped: set BUS_URL=amqp://guest:guest@127.0.0.1:5672');

describe.skipIf(!url)('the bus contract on RabbitMQ (BUS_URL)', () => {
  const open: BusTransport[] = [];
  afterAll(async () => {
    await Promise.allSettled(open.map((t) => t.close()));
    await removeRunTopology(url!);
  });

  for (const c of busContract()) {
    it(c.name, { timeout: 60_000 }, () =>
      c.run({
        transport: async (identity) => {
          const t = await AmqpTransport.open({ url: url!, identity });
          open.push(t);
          return t;
        },
      }),
    );
  }
});

/** Deletes this run's queues and exchanges (quorum queues are not free to keep), when rabbitmqctl can list them. */
async function removeRunTopology(brokerUrl: string): Promise<void> {
  const list = async (what: string) => {
    const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', what, 'name'], { timeout: 30_000 });
    return stdout.split('\n').filter((n) => n.includes(BUS_CONTRACT_RUN));
  };
  const queues = await list('list_queues').catch(() => []);
  const exchanges = await list('list_exchanges').catch(() => []);
  const model = await amqp.connect(brokerUrl);
  const ch = await model.createChannel();
  for (const q of queues) await ch.deleteQueue(q.trim());
  for (const e of exchanges) await ch.deleteExchange(e.trim());
  await model.close();
}
