// A `worker` service process for consumer-kill.test.ts: it consumes WORKER_QUEUE through
// ctx.bus (the embedded broker, or RabbitMQ when BUS_URL is set) and prints one JSON line
// per message it starts and per message it finishes. With WORKER_HANG=1 its handler never
// finishes, so the test can kill -9 it in the middle of one.
import { defineMessage, defineService, runService, Type } from '@flotilla/kit';

const Job = defineMessage('consumer-kill-job', Type.Object({ n: Type.Integer() }));

const queue = process.env.WORKER_QUEUE ?? 'consumer-kill';
const hang = process.env.WORKER_HANG === '1';
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const running = await runService(defineService({ name: 'worker', routes() {} }));
if (running) {
  await running.ctx.bus.consume(queue, Job, async (_body, m) => {
    say({ handling: m.id, redelivered: m.redelivered, pid: process.pid });
    if (hang) await new Promise(() => undefined); // killed in here
    say({ handled: m.id, redelivered: m.redelivered, pid: process.pid });
  });
  say({ listening: running.url, pid: process.pid });
}
