// Nothing lost on RabbitMQ (issue 18): 10,000 messages sent with publisher confirms through
// the kit's Bus while RabbitMQ itself is stopped and started (`rabbitmqctl stop_app` /
// `start_app`); every confirmed message must be handled at least once, duplicates are
// printed. It stops the server every other test uses, so it lives in the serial phase
// (test/serial, after all other suites) and works in a vhost of its own. RabbitMQ is
// started again whatever happens.
//
//   BUS_URL=amqp://guest:guest@127.0.0.1:5672 npm run test:serial
//
// rabbitmqctl reaches the node named by RABBITMQ_NODENAME (its default otherwise): point
// both at a private node to try this without disturbing a shared one.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AmqpTransport, type BusTransport, defineMessage, serviceSpiffeId, Type } from '@flotilla/kit';
import { nothingLost, standaloneBus } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const COUNT = 10_000;
const STOP_AFTER = 3_000;
const QUEUE = 'restart-jobs';
const Job = defineMessage('restart-job', Type.Object({ seq: Type.Integer() }));

const busUrl = process.env.BUS_URL;
if (!busUrl)
  console.warn(
    'RabbitMQ restart test skipped: set BUS_URL=amqp://guest:guest@127.0.0.1:5672 (and rabbitmqctl)',
  );

const vhost = `flotilla-restart-${process.pid}`;

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', ...args], { timeout: 120_000 });
  return stdout;
}

/** Until the broker takes AMQP connections again (start_app returns before that). */
async function untilRabbitAnswers(url: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  await rabbitmqctl('await_startup').catch(() => undefined);
  for (;;) {
    try {
      const t = await AmqpTransport.open({ url, identity: serviceSpiffeId('flotilla.local', 'probe') });
      await t.close();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(500);
    }
  }
}

/** Starts RabbitMQ's application (a no-op when it runs) and waits until it answers. */
async function ensureRabbitRunning(url: string): Promise<void> {
  await rabbitmqctl('start_app');
  await untilRabbitAnswers(url);
}

function vhostUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

const PERMITS = `
permit (principal == Service::"app", action == Action::"bus:Send", resource == Queue::"${QUEUE}");
permit (principal == Service::"worker", action == Action::"bus:Consume", resource == Queue::"${QUEUE}");`;

describe.skipIf(!busUrl)('RabbitMQ stopped and started under load (BUS_URL)', () => {
  const url = busUrl!;
  const open: BusTransport[] = [];
  const busOf = async (service: string) => {
    const transport = await AmqpTransport.open({
      url: vhostUrl(url),
      identity: serviceSpiffeId('flotilla.local', service),
    });
    open.push(transport);
    return standaloneBus(transport, service, PERMITS).bus;
  };

  beforeAll(async () => {
    await ensureRabbitRunning(url); // an earlier run that died half-way may have left it stopped
    await rabbitmqctl('add_vhost', vhost);
    const user = decodeURIComponent(new URL(url).username) || 'guest';
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  });

  afterAll(async () => {
    // Whatever happened above, RabbitMQ is left running for everything after this test.
    await ensureRabbitRunning(url);
    await Promise.allSettled(open.map((t) => t.close()));
    await rabbitmqctl('delete_vhost', vhost);
  });

  it(`loses no confirmed message of ${COUNT} while RabbitMQ is stopped and started`, async () => {
    const [app, worker] = [await busOf('app'), await busOf('worker')];
    let stopped = false;
    try {
      const report = await nothingLost({
        count: COUNT,
        send: async (seq) => (await app.send(QUEUE, Job, { seq })).id,
        consume: async (handled) => {
          const consumer = await worker.consume(QUEUE, Job, async (_b, m) => handled(m.id), { prefetch: 64 });
          return () => consumer.cancel();
        },
        faults: [
          {
            afterConfirmed: STOP_AFTER,
            run: async () => {
              await rabbitmqctl('stop_app');
              stopped = true;
              await sleep(1_000); // sends meanwhile wait, then are refused and retried
              await ensureRabbitRunning(url);
            },
          },
        ],
        drainMs: 180_000,
      });
      console.log(`nothing lost, RabbitMQ stop_app/start_app: ${report.summary}`);
      expect(stopped).toBe(true);
      expect(report.confirmed).toBe(COUNT);
      expect(report.lostIds).toEqual([]);
      expect(report.lost).toBe(0);
    } finally {
      await Promise.allSettled([app.close(), worker.close()]);
    }
  });
});
