import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type RunningControl, startControl } from '@flotilla/control';
import { DbHost, openEmbedded } from '@flotilla/kit';
import { ControlAdminClient } from '@flotilla/kit/contracts';
import { pino } from 'pino';
import { loadFleet } from '../fleet/load-fleet.js';
import type { Fleet } from '../fleet/schema.js';
import { compileService } from './compile.js';
import { allowedCalls, gatewayRoutes } from './fleet-env.js';
import {
  authProcess,
  BROKER_ENTRY,
  type FleetPorts,
  fleetPorts,
  gatewayProcess,
  brokerProcess,
  kmsKeys,
  kmsProcess,
  PLATFORM_ENTRIES,
  serviceProcesses,
  storageBucketsFile,
  storageProcess,
} from './fleet-processes.js';
import { type FleetState, writeState } from './fleet-state.js';
import { authClients } from './platform-env.js';
import { checkEntries, checkPorts, startWaves } from './preflight.js';
import { type LaunchContext, processSpec, resolveEntry } from './process-spec.js';
import {
  type FleetSecrets,
  loadOrCreateKmsRootKey,
  loadOrCreateSecrets,
  secretsDir,
  writeSecret,
} from './secrets.js';
import { type RunningProcess, Supervisor, type SupervisorEvent } from './supervisor.js';

export interface RunFleetOptions {
  file: string;
  home: string;
  onEvent: (e: SupervisorEvent | { type: 'control'; url: string; ms: number }) => void;
}

export interface RunningFleet {
  fleet: Fleet;
  state: FleetState;
  secrets: FleetSecrets;
  supervisor: Supervisor;
  control: RunningControl;
  stop(): Promise<void>;
}

/** A fleet file read and checked, with where it runs: nothing started yet. */
interface Plan {
  fleet: Fleet;
  /** The fleet file's folder. */
  root: string;
  home: string;
  ports: FleetPorts;
  secrets: FleetSecrets;
  trustDomain: string;
  issuer: string;
  webOrigin: string;
}

/**
 * `flotilla up`: the control plane (in this process), then every service as its own
 * process with a fresh join token — auth first, the fleet's services in dependency
 * order, the gateway last. On a start failure everything started is stopped again.
 */
export async function runFleet(opts: RunFleetOptions): Promise<RunningFleet> {
  const plan = await planFleet(opts.file, opts.home);
  const began = Date.now();
  const control = await startFleetControl(plan);
  opts.onEvent({ type: 'control', url: control.url, ms: Date.now() - began });

  const admin = new ControlAdminClient({
    url: control.url,
    roots: control.bundle().roots.join('\n'),
    adminToken: control.adminToken,
    trustDomain: plan.trustDomain,
  });
  let state: FleetState | undefined;
  const supervisor = new Supervisor(
    join(plan.home, 'logs'),
    (event) => {
      opts.onEvent(event);
      // A restarted process has a new port and pid: keep `fleet.json` true for status and logs.
      if (event.type === 'restarted' && state) {
        state = { ...state, processes: processList(supervisor) };
        void writeState(plan.home, state).catch(() => undefined);
      }
    },
    { compile: async (entry) => compileService(entry, await buildDir(plan.home)) },
  );
  // Without DATABASE_URL, each service's embedded database lives here, not in the
  // service's process: it survives the service's restarts, is shared by its instances,
  // and keeps PostgreSQL's ~55 MB out of every service (docs/fleet.md).
  const dbHost = process.env.DATABASE_URL
    ? undefined
    : new DbHost({ open: (service) => openEmbedded({ service, home: plan.home }) });
  const stop = async () => {
    await supervisor.stopAll();
    await dbHost?.close();
    await admin.close();
    await control.stop();
  };
  try {
    const ctx: LaunchContext = { root: plan.root, common: commonEnv(plan, control), dbHost, admin };
    const gateway = await startProcesses(plan, supervisor, ctx);
    state = {
      name: plan.fleet.name,
      startedAt: new Date(began).toISOString(),
      supervisorPid: process.pid,
      // Browsers must use the name in the redirect URIs and the certificate.
      gateway: gateway.url.replace('//127.0.0.1:', '//localhost:'),
      issuer: plan.issuer,
      control: control.url,
      trustDomain: plan.trustDomain,
      processes: processList(supervisor),
    };
    await writeState(plan.home, state);
    return { fleet: plan.fleet, state, secrets: plan.secrets, supervisor, control, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A service declares queues or topics, and BUS_URL does not send them to RabbitMQ. */
function usesEmbeddedBroker(fleet: Fleet): boolean {
  return !process.env.BUS_URL && fleet.services.some((s) => s.bus !== undefined);
}

/**
 * Compiles every process of the fleet — the platform's services and the fleet file's —
 * without starting anything (`flotilla up --compile-only`; `npm install` runs it), so the
 * first `npm start` of a checkout finds them built. Returns how many were compiled.
 */
export async function compileFleet(file: string, home: string): Promise<number> {
  const fleet = await loadFleet(file);
  const root = dirname(resolve(file));
  const dir = await buildDir(resolve(home));
  const entries = [
    ...[...Object.values(PLATFORM_ENTRIES), BROKER_ENTRY].map((e) => resolveEntry(e, root)),
    ...fleet.services.map((s) => resolveEntry({ file: s.entry }, root)),
  ];
  await Promise.all(entries.map((entry) => compileService(entry, dir)));
  return entries.length;
}

/**
 * Where services are compiled: the user's cache (`$XDG_CACHE_HOME/flotilla/build`), so a
 * fresh `.flotilla/` (a clone's first start, after `flotilla reset`) reuses the builds of
 * the same sources instead of compiling every service again; `<home>/build` when the
 * cache cannot be written. A build is named by its entry's path and reused only while its
 * inputs are unchanged (compile.ts).
 */
async function buildDir(home: string): Promise<string> {
  const cached = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flotilla', 'build');
  try {
    await mkdir(cached, { recursive: true, mode: 0o700 });
    return cached;
  } catch {
    return join(home, 'build');
  }
}

/** Reads and checks the fleet file, its ports and entries, and the fleet's secrets. */
async function planFleet(file: string, homeDir: string): Promise<Plan> {
  const fleet = await loadFleet(file);
  const root = dirname(resolve(file));
  const home = resolve(homeDir);
  const ports = fleetPorts(fleet);
  await checkPorts({
    control: ports.control,
    auth: ports.auth,
    gateway: ports.gateway,
    'gateway (http)': ports.http,
  });
  await checkEntries(root, fleet.services);
  await mkdir(home, { recursive: true, mode: 0o700 });
  return {
    fleet,
    root,
    home,
    ports,
    secrets: await loadOrCreateSecrets(home, fleet),
    trustDomain: fleet.trustDomain ?? 'flotilla.local',
    issuer: `https://localhost:${ports.auth}`,
    webOrigin: `https://localhost:${ports.gateway}`,
  };
}

function startFleetControl(plan: Plan): Promise<RunningControl> {
  return startControl({
    env: {
      ...process.env,
      FLOTILLA_HOME: plan.home,
      PORT: String(plan.ports.control),
      FLOTILLA_TRUST_DOMAIN: plan.trustDomain,
      FLOTILLA_POLICY_DIR: join(plan.root, 'policies'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      // A fleet on one machine asks for a few certificates at start and a renewal now and
      // then: signing on the event loop takes milliseconds, where a signing worker would
      // first load the CA's TypeScript through tsx (~0.6 s before the first certificate,
      // and two more V8 isolates in this process).
      CONTROL_SIGNING_WORKERS: process.env.CONTROL_SIGNING_WORKERS ?? '0',
    },
    logStream: pino.destination({ dest: join(plan.home, 'logs', 'control.log'), mkdir: true, sync: false }),
  });
}

/** The settings every process of the fleet shares. */
function commonEnv(plan: Plan, control: RunningControl): Record<string, string> {
  return {
    FLOTILLA_HOME: plan.home,
    FLOTILLA_CONTROL_URL: control.url,
    FLOTILLA_TRUST_DOMAIN: plan.trustDomain,
    FLOTILLA_POLICY_DIR: join(plan.root, 'policies'),
    FLOTILLA_ALLOWED_CALLS: JSON.stringify(allowedCalls(plan.fleet)),
    NODE_EXTRA_CA_CERTS: join(plan.home, 'ca.pem'),
    AUTH_ISSUER: plan.issuer,
    AUTH_AUDIENCE: plan.fleet.auth.audience,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
}

/**
 * Auth, the KMS, storage and the fleet's services start together, the services in waves (each once those it
 * depends on are up). The gateway needs auth (keys, revocations), not the services — it
 * finds them through discovery when a request comes — so it starts as soon as auth is up.
 * Resolves with the gateway once every process is up.
 */
async function startProcesses(
  plan: Plan,
  supervisor: Supervisor,
  ctx: LaunchContext,
): Promise<RunningProcess> {
  const start = (p: Parameters<typeof processSpec>[1]) => supervisor.start(processSpec(ctx, p));
  const files = {
    clients: join(secretsDir(plan.home), 'auth-clients.json'),
    users: join(secretsDir(plan.home), 'auth-users.json'),
    routes: join(plan.home, 'gateway-routes.json'),
    kmsKeys: join(plan.home, 'kms-keys.json'),
    buckets: join(plan.home, 'storage-buckets.json'),
  };
  await writeSecret(files.clients, authClients(plan.fleet, plan.secrets, plan.webOrigin));
  await writeSecret(files.users, { users: plan.secrets.users });
  await writeSecret(files.routes, gatewayRoutes(plan.fleet, plan.webOrigin));
  await writeSecret(files.kmsKeys, kmsKeys(plan.fleet));
  await writeFile(files.buckets, storageBucketsFile(plan.fleet, plan.root));
  const rootKey = await loadOrCreateKmsRootKey(plan.home);

  const authStarting = start(authProcess(plan.ports, files));
  // Nothing waits for the KMS at start: its callers reach it through discovery when they need a key.
  const kmsStarting = start(kmsProcess({ rootKey, keys: files.kmsKeys }));
  // Nor storage for the KMS: its data-key pool asks the KMS at the first put.
  const storageStarting = start(storageProcess({ buckets: files.buckets }));
  // The embedded broker, when a service uses the bus and BUS_URL names no RabbitMQ; the
  // services find it through discovery when they first send or consume.
  const brokerStarting = usesEmbeddedBroker(plan.fleet) ? start(brokerProcess()) : undefined;
  const servicesStarting = (async () => {
    for (const wave of startWaves(plan.fleet.services))
      await Promise.all(wave.flatMap((s) => serviceProcesses(s, plan.home)).map(start));
  })();
  const gatewayStarting = authStarting.then((auth) =>
    start(
      gatewayProcess(plan.fleet, plan.ports, {
        root: plan.root,
        routesFile: files.routes,
        issuer: plan.issuer,
        webOrigin: plan.webOrigin,
        authUrl: auth.url,
      }),
    ),
  );
  const [gateway] = await Promise.all([
    gatewayStarting,
    servicesStarting,
    kmsStarting,
    storageStarting,
    brokerStarting,
  ]);
  return gateway;
}

function processList(supervisor: Supervisor): FleetState['processes'] {
  return supervisor
    .processes()
    .map((p) => ({ name: p.spec.name, service: p.spec.service, url: p.url, pid: p.pid }));
}
