// FlixTube's services over the bus, as in `flotilla up`: a real control plane, the fleet's
// broker (the embedded one as its own process; RabbitMQ in a vhost of its own when BUS_URL
// is set), the services with their workload identities (mTLS) and the repository's
// policies, unchanged. Stand-ins (services with no routes, named `gateway`, `thumbnails`,
// `operator`, …) do what those would: the policies decide what each may.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type RunningControl, startControl } from '@flotilla/control';
import { defineService, type RunningService, type StartOptions } from '@flotilla/kit';
import {
  fleetJoiner,
  policiesWithGrants,
  type RabbitVhost,
  rabbitVhost,
  type ServiceProcess,
  spawnService,
  startTestIssuer,
  type TestIssuer,
  until,
} from '@flotilla/testing';

/** The audience FlixTube's services verify tokens for in tests. */
export const AUDIENCE = 'flixtube-api';
/** The repository's policies. */
export const POLICY_DIR = resolve(import.meta.dirname, '../../../../policies');

const BROKER_MAIN = createRequire(import.meta.url).resolve('@flotilla/broker/main');

export interface Transport {
  name: string;
  rabbit: boolean;
}

/**
 * The transports a test runs on: the embedded broker always, RabbitMQ too when BUS_URL is
 * set (a warning names the test otherwise). For `describe.each`.
 */
export function busTransports(test: string): Transport[] {
  if (!process.env.BUS_URL)
    console.warn(`BUS_URL is not set: ${test} runs on the embedded broker only, not RabbitMQ`);
  return [
    { name: 'the embedded broker', rabbit: false },
    ...(process.env.BUS_URL ? [{ name: 'RabbitMQ', rabbit: true }] : []),
  ];
}

/** Waits for `what`, polling (re-exported: the FlixTube tests import it from here). */
export { until };
export { type Answer, answerOf } from './answer.js';

export interface JsonAnswer {
  status: number;
  json: Record<string, unknown>;
}

/** A service definition, whatever its settings. */
export interface Startable {
  start(opts: StartOptions): Promise<RunningService>;
}

export interface BusFleet {
  readonly home: string;
  readonly control: RunningControl;
  readonly issuer: TestIssuer;
  /** A tag unique to this process and transport, for subjects and titles. */
  readonly tag: string;
  /** The environment of `service` joining the fleet: identity, policies, and (RabbitMQ) BUS_URL. */
  joined(service: string): Promise<Record<string, string>>;
  /** Starts a FlixTube service: joined, with the test issuer and the bus; stopped by `stop()`. */
  start(
    name: string,
    service: Startable,
    opts?: { env?: Record<string, string>; inMemoryDb?: boolean },
  ): Promise<RunningService>;
  /** The services started so far under `name` (to stop one, or restart it). */
  services(name: string): RunningService[];
  /** A service with no routes, named `name`, to do what the fleet's `name` would. */
  standIn(name: string): Promise<RunningService>;
  /** Starts the embedded broker as its own process (nothing on RabbitMQ: it is there). */
  startBroker(): Promise<void>;
  /** A person's access token (`<name>-<tag>`, MFA done). */
  person(name: string, roles?: string[]): Promise<string>;
  /** A JSON call from the stand-in `gateway` (`standIn('gateway')`), over mTLS, with the user's bearer token. */
  call(service: string, token: string, method: string, path: string, body?: unknown): Promise<JsonAnswer>;
  /**
   * Waits until `service` is ready (`/readyz`; ready only once its subscriptions consume),
   * then until `from` finds it (discovery lists only ready instances). Polling `call` alone
   * would count every "no instance" against `from`'s circuit breaker for the service.
   */
  ready(service: RunningService, from: RunningService, method: string, path: string): Promise<void>;
  /** Stops everything, newest first, and removes the home. */
  stop(): Promise<void>;
}

/**
 * Opens a fleet for one transport. Services start only when the test asks, in the order
 * it needs (before or after the broker).
 *
 * @example
 * describe.each(busTransports('viewed-over-bus'))('on $name', ({ rabbit }) => {
 *   let fleet: BusFleet;
 *   beforeAll(async () => {
 *     fleet = await openBusFleet('flixtube-viewed', rabbit);
 *     await fleet.start('history', createHistory(), { inMemoryDb: true });
 *     await fleet.startBroker();
 *   });
 *   afterAll(() => fleet?.stop());
 * });
 */
export async function openBusFleet(prefix: string, rabbit: boolean): Promise<BusFleet> {
  const home = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const services: RunningService[] = [];
  let control: RunningControl | undefined;
  let issuer: TestIssuer | undefined;
  let vhost: RabbitVhost | undefined;
  let broker: ServiceProcess | undefined;
  const stop = async () => {
    for (const s of services.splice(0).reverse()) await s.stop().catch(() => undefined);
    await broker?.kill('SIGKILL');
    await control?.stop();
    await issuer?.close();
    await vhost?.delete();
    await rm(home, { recursive: true, force: true });
  };
  try {
    // The repository's policies as they are: no grants added for the test.
    const policies = await policiesWithGrants(home, POLICY_DIR, '// no test grants\n');
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    const busUrl = process.env.BUS_URL;
    if (rabbit && !busUrl) throw new Error('RabbitMQ asked for without BUS_URL');
    vhost = rabbit ? await rabbitVhost(busUrl as string, prefix) : undefined;
  } catch (err) {
    await stop();
    throw err;
  }
  const joiner = fleetJoiner(control, { home, policies: join(home, 'policies') });
  const bus: Record<string, string> = vhost ? { BUS_URL: vhost.url } : {};
  const users = { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl, POLICY_WATCH: 'false' };
  const tag = `${process.pid}-${rabbit ? 'rmq' : 'emb'}`;
  const joined = async (service: string) => ({ ...(await joiner(service)), ...bus });
  const keep = (running: RunningService) => {
    services.push(running);
    return running;
  };
  const testIssuer = issuer;
  return {
    home,
    control,
    issuer,
    tag,
    joined,
    async start(name, service, opts = {}) {
      const env = { ...(await joined(name)), ...users, ...opts.env };
      return keep(await service.start({ env, inMemoryDb: opts.inMemoryDb ?? false }));
    },
    services: (name) => services.filter((s) => s.name === name),
    async standIn(name) {
      return keep(await defineService({ name, routes() {} }).start({ env: await joined(name) }));
    },
    async startBroker() {
      if (!rabbit) broker = await spawnService(BROKER_MAIN, await joiner('broker'));
    },
    person: (name, roles = ['viewer']) =>
      testIssuer.token(`${name}-${tag}`, { claims: { roles, amr: ['pwd', 'otp'] } }),
    async call(service, token, method, path, body) {
      const from = services.find((s) => s.name === 'gateway');
      if (!from) throw new Error("no stand-in gateway: start one with standIn('gateway')");
      const res = await from.ctx.call(service, {
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async ready(service, from, method, path) {
      await until(`${service.name} is ready`, async () =>
        (await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200 ? true : undefined,
      );
      await until(`${from.name} finds ${service.name}`, async () => {
        const res = await from.ctx.call(service.name, {
          method,
          path,
          headers: { accept: 'application/json' },
        });
        await res.body.dump();
        return true;
      });
    },
    stop,
  };
}
