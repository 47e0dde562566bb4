import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from './amqp.js';
import { decodeEnvelope, type Envelope } from './envelope.js';

const url = process.env.BUS_URL;
const run = promisify(execFile);
const identity = 'spiffe://flotilla.local/svc/recovery';

const envelope = (n: number): Envelope => ({
  id: randomUUID(),
  type: 'note',
  time: new Date().toISOString(),
  sender: identity,
  attempt: 1,
  body: { n },
});

/** Closes one client connection on the broker, by name, as a broker restart or a network cut would. */
async function cutConnection(name: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const line = stdout.split('\n').find((l) => l.includes(name));
  if (!line) throw new Error(`no connection named ${name}`);
  await run('rabbitmqctl', ['close_connection', line.split('\t')[0]!.trim(), 'test cuts the connection']);
}

describe.skipIf(!url)('the RabbitMQ transport across a lost connection (BUS_URL)', () => {
  const queue = `recovery-${randomUUID().slice(0, 8)}`;
  const opened: AmqpTransport[] = [];
  afterAll(async () => {
    const t = opened[0];
    await Promise.allSettled(opened.map((o) => o.close()));
    if (t) {
      const amqp = await import('amqplib');
      const model = await amqp.connect(url!);
      const ch = await model.createChannel();
      await ch.deleteQueue(`flotilla.q.${queue}`);
      await ch.deleteQueue(`flotilla.q.${queue}.dead`);
      await model.close();
    }
  });

  it(
    're-declares, resumes its consumer, and sends again once the broker is back',
    { timeout: 60_000 },
    async () => {
      const name = `flotilla-test-${randomUUID()}`;
      const t = await AmqpTransport.open({ url: url!, identity, connectionName: name });
      opened.push(t);
      const statuses: string[] = [];
      t.onStatus((s) => statuses.push(s));
      await t.declareQueue(queue);
      const heard: number[] = [];
      await t.consume(
        { queue },
        async (d) => {
          heard.push((decodeEnvelope(d.bytes).body as { n: number }).n);
          await d.ack();
        },
        { prefetch: 4 },
      );
      await t.send(queue, envelope(1));
      while (!heard.includes(1)) await sleep(20);

      await cutConnection(name);
      while (!statuses.includes('down')) await sleep(10);
      // A send while the connection is down waits for it to come back, then is confirmed.
      await t.send(queue, envelope(2));
      while (!heard.includes(2)) await sleep(20);
      expect(statuses.slice(0, 2)).toEqual(['down', 'up']);
      expect(t.status).toBe('up');
    },
  );

  it('rejects with FLT_BUS_UNAVAILABLE when no broker answers', async () => {
    await expect(
      AmqpTransport.open({ url: 'amqp://guest:guest@127.0.0.1:1', identity }),
    ).rejects.toMatchObject({
      code: 'FLT_BUS_UNAVAILABLE',
    });
  });
});
