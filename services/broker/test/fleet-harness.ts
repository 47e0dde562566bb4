// A control plane in this process, the broker as its own OS process (so a test can
// kill -9 it), and in-process services that reach it over discovery and mTLS.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineService, type RunningService } from '@flotilla/kit';
import { BrokerClient, type BrokerClientOptions } from '@flotilla/kit/contracts';
import { type RunningControl, startControl } from '@flotilla/control';
import { fleetJoiner, policiesWithGrants, type ServiceProcess, spawnService } from '@flotilla/testing';

export const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');
const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');

/**
 * The test fleet's grants: `app` sends to any queue and publishes to any topic, `worker`
 * consumes any queue, `history` and `recommendations` subscribe to any topic, and
 * `stranger` has nothing (default deny).
 */
const GRANTS = `
@id("test-app-sends")
permit (principal == Service::"app", action in [Action::"bus:Send", Action::"bus:Publish"], resource);
@id("test-worker-consumes")
permit (principal == Service::"worker", action == Action::"bus:Consume", resource is Queue);
@id("test-history-subscribes")
permit (principal == Service::"history", action == Action::"bus:Subscribe", resource is Topic);
@id("test-recommendations-subscribe")
permit (principal == Service::"recommendations", action == Action::"bus:Subscribe", resource is Topic);
`;

export interface BrokerFleet {
  home: string;
  broker(): ServiceProcess;
  /** Starts the broker process (again: same port, same home, same database). */
  startBroker(): Promise<ServiceProcess>;
  /** A service instance of the fleet, in this process (`env` on top of its join settings). */
  service(name: string, env?: Record<string, string>): Promise<RunningService>;
  /** The settings a service process needs to join this fleet as `name`. */
  joinEnv(name: string): Promise<Record<string, string>>;
  client(svc: RunningService, opts?: BrokerClientOptions): BrokerClient;
  audit(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function brokerFleet(env: Record<string, string> = {}, grants = GRANTS): Promise<BrokerFleet> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-broker-'));
  const policies = await policiesWithGrants(home, POLICY_DIR, grants);
  const control: RunningControl = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  const joined = fleetJoiner(control, { home, policies });
  const port = String(await freePort());
  const services: RunningService[] = [];
  let broker: ServiceProcess | undefined;
  const fleet: BrokerFleet = {
    home,
    broker: () => broker!,
    async startBroker() {
      broker = await spawnService(
        MAIN,
        {
          ...(await joined('broker')),
          PORT: port,
          LOG_LEVEL: 'warn',
          // The child inherits this process's environment: PGlite unless `env` names a database.
          DATABASE_URL: '',
          ...env,
        },
        // Not a speed check: a loaded 2-core host can take long to load tsx and PGlite.
        90_000,
      );
      return broker;
    },
    async service(name, extra = {}) {
      const svc = await defineService({ name, routes() {} }).start({
        env: { ...(await joined(name)), ...extra },
      });
      services.push(svc);
      return svc;
    },
    joinEnv: joined,
    client: (svc, opts) => new BrokerClient((r) => svc.ctx.call('broker', r), opts),
    async audit() {
      const text = await readFile(join(home, 'audit', 'broker.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      // The broker first: open delivery streams end with it, so services drain at once.
      await broker?.kill('SIGKILL');
      for (const s of services) await s.stop();
      await control.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
  await fleet.startBroker();
  return fleet;
}

/** Waits for `cond`, polling; fails the test with `what` after `ms` (not a speed check). */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The error a promise is refused with (fails the test when it resolves). */
export async function refusal(
  p: Promise<unknown>,
): Promise<{ code: string; status: number; message: string }> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as { code: string; status: number; message: string },
  );
}
