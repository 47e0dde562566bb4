import { access, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ARGON2, hashSecret } from '@flotilla/auth/admin-local';
import { type RunningControl, startControl } from '@flotilla/control';
import { DbHost, openEmbedded } from '@flotilla/kit';
import { pino } from 'pino';
import { loadFleet } from '../fleet/load-fleet.js';
import type { Fleet, FleetService } from '../fleet/schema.js';
import { type ControlAdmin, issueJoinToken } from './control-admin.js';
import { compileService } from './compile.js';
import { allowedCalls, gatewayRoutes } from './fleet-env.js';
import { type FleetState, writeState } from './fleet-state.js';
import { type FleetSecrets, loadOrCreateSecrets, secretsDir, writeSecret } from './secrets.js';
import { type ProcessSpec, Supervisor, type SupervisorEvent } from './supervisor.js';

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

const DEFAULT_PORTS = { control: 7400, auth: 7410, gateway: 8443, http: 8080 };

/**
 * Every service process: stack traces point at the TypeScript sources (~2 MB), and a
 * young generation of 1 MB instead of growing to 16 MB twice (~28 MB less per idle
 * process; young collections are more frequent but small). `FLOTILLA_NODE_ARGS` adds
 * the operator's own (space-separated), e.g. `--cpu-prof`.
 */
const NODE_ARGS = [
  '--enable-source-maps',
  '--max-semi-space-size=1',
  ...(process.env.FLOTILLA_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
];
/**
 * Every service process runs WebAssembly (Cedar's policy engine) on V8's baseline tier
 * only. The optimizing tier recompiles hot functions at start-up, on the same two cores
 * as the fleet's other processes, and its compiler leaves tens of MB of freed scratch
 * memory that glibc keeps: measured on FlixTube, all-ready in 6.5 s instead of 13 s and
 * the gateway idling at ~110 MB instead of ~175 MB (bench/fleet/README.md). The price is
 * the gateway's uncached Cedar decisions (77 → 124 µs; its allow cache answers repeats).
 * A deployed gateway (bench/gateway, Kubernetes) runs with V8's defaults.
 */
const BASELINE_WASM_NODE_ARGS = ['--liftoff-only'];
/**
 * glibc gives each thread that allocates its own arena and rarely returns their free
 * memory; V8's compiler threads leave tens of MB behind that way. Two arenas keep it
 * in check (unless the user chose otherwise).
 */
const PROCESS_ENV = { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };

/** The platform's own services ship with Flotilla, not with the fleet file. */
const PLATFORM = {
  auth: fileURLToPath(new URL('../../../../services/auth/src/main.ts', import.meta.url)),
  gateway: fileURLToPath(new URL('../../../../services/gateway/src/main.ts', import.meta.url)),
};

/**
 * `flotilla up`: the control plane (in this process), then every service as its own
 * process with a fresh join token — auth first, the fleet's services in dependency
 * order, the gateway last. On a start failure everything started is stopped again.
 */
export async function runFleet(opts: RunFleetOptions): Promise<RunningFleet> {
  const fleet = await loadFleet(opts.file);
  const root = dirname(resolve(opts.file));
  const home = resolve(opts.home);
  const ports = {
    control: fleet.control?.port ?? DEFAULT_PORTS.control,
    auth: fleet.auth.port ?? DEFAULT_PORTS.auth,
    gateway: fleet.gateway.port ?? DEFAULT_PORTS.gateway,
    http: fleet.gateway.httpPort ?? DEFAULT_PORTS.http,
  };
  await checkPorts({
    control: ports.control,
    auth: ports.auth,
    gateway: ports.gateway,
    'gateway (http)': ports.http,
  });
  await checkEntries(root, fleet.services);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const secrets = await loadOrCreateSecrets(home, fleet);
  const policyDir = join(root, 'policies');

  const began = Date.now();
  const control = await startControl({
    env: {
      ...process.env,
      FLOTILLA_HOME: home,
      PORT: String(ports.control),
      FLOTILLA_TRUST_DOMAIN: fleet.trustDomain ?? 'flotilla.local',
      FLOTILLA_POLICY_DIR: policyDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      // A fleet on one machine asks for a few certificates at start and a renewal now and
      // then: signing on the event loop takes milliseconds, where a signing worker would
      // first load the CA's TypeScript through tsx (~0.6 s before the first certificate,
      // and two more V8 isolates in this process).
      CONTROL_SIGNING_WORKERS: process.env.CONTROL_SIGNING_WORKERS ?? '0',
    },
    logStream: pino.destination({ dest: join(home, 'logs', 'control.log'), mkdir: true, sync: false }),
  });
  opts.onEvent({ type: 'control', url: control.url, ms: Date.now() - began });
  const admin: ControlAdmin = {
    url: control.url,
    adminToken: control.adminToken,
    roots: control.bundle().roots.join('\n'),
  };

  let state: FleetState | undefined;
  const supervisor = new Supervisor(
    join(home, 'logs'),
    (event) => {
      opts.onEvent(event);
      // A restarted process has a new port and pid: keep `fleet.json` true for status and logs.
      if (event.type === 'restarted' && state) {
        state = { ...state, processes: processList(supervisor) };
        void writeState(home, state).catch(() => undefined);
      }
    },
    { compile: (entry) => compileService(entry, join(home, 'build')) },
  );
  // Without DATABASE_URL, each service's embedded database lives here, not in the
  // service's process: it survives the service's restarts, is shared by its instances,
  // and keeps PostgreSQL's ~55 MB out of every service (docs/fleet.md).
  const dbHost = process.env.DATABASE_URL
    ? undefined
    : new DbHost({ open: (service) => openEmbedded({ service, home }) });
  const stop = async () => {
    await supervisor.stopAll();
    await dbHost?.close();
    await control.stop();
  };
  try {
    const issuer = `https://localhost:${ports.auth}`;
    const webOrigin = `https://localhost:${ports.gateway}`;
    const common = {
      FLOTILLA_HOME: home,
      FLOTILLA_CONTROL_URL: control.url,
      FLOTILLA_TRUST_DOMAIN: fleet.trustDomain ?? 'flotilla.local',
      FLOTILLA_POLICY_DIR: policyDir,
      FLOTILLA_ALLOWED_CALLS: JSON.stringify(allowedCalls(fleet)),
      NODE_EXTRA_CA_CERTS: join(home, 'ca.pem'),
      AUTH_ISSUER: issuer,
      AUTH_AUDIENCE: fleet.auth.audience,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    };
    const spec = (
      name: string,
      service: string,
      entry: string,
      env: Record<string, string>,
      database = false,
    ): ProcessSpec => {
      const hosted = database && dbHost !== undefined;
      if (hosted) void dbHost.prepare(service).catch(() => undefined); // its first query reports a failure
      return {
        name,
        service,
        entry,
        env: async () => ({
          ...PROCESS_ENV,
          ...common,
          ...env,
          ...(hosted ? { FLOTILLA_DB: 'host' } : {}),
          FLOTILLA_JOIN_TOKEN: await issueJoinToken(admin, service),
        }),
        nodeArgs: [...NODE_ARGS, ...BASELINE_WASM_NODE_ARGS],
        fixedPort: Boolean((env.PORT && env.PORT !== '0') || env.TLS_PORT),
        ...(hosted ? { onSpawn: (child) => dbHost.attach(child, service) } : {}),
      };
    };

    const clientsFile = join(secretsDir(home), 'auth-clients.json');
    await writeSecret(clientsFile, await authClients(fleet, secrets, webOrigin));
    const usersFile = join(secretsDir(home), 'auth-users.json');
    await writeSecret(usersFile, { users: secrets.users });
    // Auth and the fleet's services start together; the gateway once auth is up.
    const authStarting = supervisor.start(
      spec(
        'auth',
        'auth',
        PLATFORM.auth,
        {
          PORT: String(ports.auth),
          FLOTILLA_CLIENT_CERT: 'optional',
          AUTH_CLIENTS_FILE: clientsFile,
          AUTH_BOOTSTRAP_USERS_FILE: usersFile,
        },
        true,
      ),
    );

    const servicesStarting = (async () => {
      // Services start in waves: each wave once the services it depends on are up.
      for (const wave of startWaves(fleet.services)) {
        await Promise.all(
          wave.flatMap((service) =>
            Array.from({ length: service.instances ?? 1 }, (_, k) => {
              const i = k + 1;
              const name = (service.instances ?? 1) > 1 ? `${service.name}#${i}` : service.name;
              return supervisor.start(
                spec(
                  name,
                  service.name,
                  resolve(root, service.entry),
                  {
                    PORT: String(i === 1 && service.port ? service.port : 0),
                    ...(service.env ?? {}),
                  },
                  service.database === true,
                ),
              );
            }),
          ),
        );
      }
    })();
    // The gateway needs auth (keys, revocations), not the services: it finds them through
    // discovery when a request comes. So it starts while later waves are still starting.
    const routesFile = join(home, 'gateway-routes.json');
    await writeSecret(routesFile, gatewayRoutes(fleet, webOrigin));
    const gatewayStarting = authStarting.then((auth) =>
      supervisor.start(
        spec('gateway', 'gateway', PLATFORM.gateway, {
          PORT: '0',
          TLS_PORT: String(ports.gateway),
          HTTP_REDIRECT_PORT: String(ports.http),
          GATEWAY_ROUTES_FILE: routesFile,
          AUTH_JWKS_URL: `${issuer}/jwks`,
          ...(process.env.REDIS_URL ? {} : { REVOCATION_EVENTS_URL: `${auth.url}/v1/revocations/events` }),
          ...(fleet.gateway.web
            ? {
                GATEWAY_WEB_DIR: join(root, fleet.gateway.web),
                GATEWAY_WEB_CONFIG: JSON.stringify(webConfig(fleet, issuer, webOrigin)),
              }
            : {}),
        }),
      ),
    );
    const [gateway] = await Promise.all([gatewayStarting, servicesStarting]);

    state = {
      name: fleet.name,
      startedAt: new Date(began).toISOString(),
      supervisorPid: process.pid,
      // Browsers must use the name in the redirect URIs and the certificate.
      gateway: gateway.url.replace('//127.0.0.1:', '//localhost:'),
      issuer,
      control: control.url,
      processes: processList(supervisor),
    };
    await writeState(home, state);
    return { fleet, state, secrets, supervisor, control, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function processList(supervisor: Supervisor): FleetState['processes'] {
  return supervisor
    .processes()
    .map((p) => ({ name: p.spec.name, service: p.spec.service, url: p.url, pid: p.pid }));
}

/** The SPA and confidential clients, in the auth service's clients-file format. */
async function authClients(fleet: Fleet, secrets: FleetSecrets, webOrigin: string) {
  const hashes = new Map<string, string>();
  for (const [id, secret] of Object.entries(secrets.clients))
    hashes.set(id, await hashSecret(secret, DEFAULT_ARGON2));
  return {
    resources: [
      {
        indicator: fleet.auth.audience,
        scopes: [...new Set(fleet.auth.clients.flatMap((c) => c.scopes))].filter(
          (s) => !['openid', 'profile', 'roles', 'offline_access'].includes(s),
        ),
      },
    ],
    clients: fleet.auth.clients.map((c) =>
      c.type === 'spa'
        ? {
            client_id: c.id,
            type: 'spa',
            redirect_uris: c.redirectUris ?? [`${webOrigin}/`],
            post_logout_redirect_uris: c.postLogoutRedirectUris ?? [`${webOrigin}/`],
            scope: c.scopes.join(' '),
            resources: [fleet.auth.audience],
          }
        : {
            client_id: c.id,
            type: c.type === 'service' ? 'service' : 'confidential',
            client_secret_hash: hashes.get(c.id),
            scope: c.scopes.join(' '),
            resources: [fleet.auth.audience],
          },
    ),
  };
}

function webConfig(fleet: Fleet, issuer: string, webOrigin: string) {
  const spa = fleet.auth.clients.find((c) => c.type === 'spa');
  return {
    issuer,
    clientId: spa?.id ?? 'flixtube-web',
    redirectUri: spa?.redirectUris?.[0] ?? `${webOrigin}/`,
    postLogoutRedirectUri: spa?.postLogoutRedirectUris?.[0] ?? `${webOrigin}/`,
    scope: spa?.scopes.join(' ') ?? 'openid',
    resource: fleet.auth.audience,
    apiBase: '/api',
  };
}

/** Services grouped so that each group depends only on earlier ones; a cycle is an error. */
export function startWaves(services: readonly FleetService[]): FleetService[][] {
  const waves: FleetService[][] = [];
  const placed = new Set<string>();
  let left = [...services];
  while (left.length > 0) {
    const wave = left.filter((s) => (s.dependsOn ?? []).every((d) => placed.has(d)));
    if (wave.length === 0)
      throw new Error(`services depend on each other in a cycle: ${left.map((s) => s.name).join(', ')}`);
    waves.push(wave);
    for (const s of wave) placed.add(s.name);
    left = left.filter((s) => !placed.has(s.name));
  }
  return waves;
}

async function checkPorts(ports: Record<string, number>): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
    });
    if (!free)
      throw new Error(
        `${name}: port ${port} is already in use (stop what uses it, or change the port in the fleet file)`,
      );
  }
}

async function checkEntries(root: string, services: readonly FleetService[]): Promise<void> {
  for (const s of services) {
    try {
      await access(resolve(root, s.entry));
    } catch {
      throw new Error(`${s.name}: entry point ${s.entry} does not exist`);
    }
  }
}
