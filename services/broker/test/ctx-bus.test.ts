// `ctx.bus` without BUS_URL: the kit's bus on the fleet's embedded broker, found through
// discovery, over mTLS — what a service of `flotilla up` gets when it sets no BUS_URL.
import { defineMessage, type RunningService, Type } from '@flotilla/kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrokerFleet, brokerFleet, until } from './fleet-harness.js';

const Job = defineMessage('job', Type.Object({ n: Type.Integer() }));

let fleet: BrokerFleet;
let app: RunningService;
let worker: RunningService;
beforeAll(async () => {
  fleet = await brokerFleet();
  app = await fleet.service('app');
  worker = await fleet.service('worker');
});
afterAll(() => fleet?.close());

it('sends and consumes through the embedded broker when BUS_URL is unset', async () => {
  const queue = `jobs-${process.pid}`;
  const seen: Array<{ n: number; sender: string }> = [];
  await worker.ctx.bus.consume(queue, Job, async (body, message) => {
    seen.push({ n: body.n, sender: message.sender });
  });
  for (let n = 0; n < 5; n++) await app.ctx.bus.send(queue, Job, { n });
  await until('five jobs handled', () => seen.length >= 5);
  expect(seen.map((s) => s.n).sort()).toEqual([0, 1, 2, 3, 4]);
  // The sender is the identity in app's certificate, as the broker stamped it.
  expect(new Set(seen.map((s) => s.sender))).toEqual(new Set(['spiffe://flotilla.local/svc/app']));
});
