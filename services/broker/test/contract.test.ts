// The bus contract (@flotilla/testing `busContract`, which RabbitMQ passes too) on the
// embedded broker: each transport is a service of the test fleet with its own
// certificate, reaching the broker process over discovery and mTLS. The broker grants
// every service every bus action here; the kit's bus decides the contract's policies.
import { BrokerTransport, type BusTransport } from '@flotilla/kit';
import { busContract } from '@flotilla/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type BrokerFleet, brokerFleet } from './fleet-harness.js';

const OPEN_BUS = `
@id("test-contract-bus")
permit (
  principal is Service,
  action in [Action::"bus:Send", Action::"bus:Publish", Action::"bus:Consume", Action::"bus:Subscribe"],
  resource
);
`;

let fleet: BrokerFleet;
const open: BusTransport[] = [];
beforeAll(async () => {
  fleet = await brokerFleet({ BROKER_MAX_MESSAGE_BYTES: String(512 * 1024) }, OPEN_BUS);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled(open.map((t) => t.close()));
  await fleet?.close();
}, 60_000);

describe('the bus contract on the embedded broker', () => {
  for (const c of busContract()) {
    it(c.name, { timeout: 60_000 }, () =>
      c.run({
        transport: async (identity) => {
          const service = identity.split('/').pop()!;
          const svc = await fleet.service(service);
          const t = new BrokerTransport({ client: fleet.client(svc), identity, service });
          open.push(t);
          return t;
        },
      }),
    );
  }
});
