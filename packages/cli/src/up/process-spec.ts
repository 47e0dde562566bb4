import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlAdminClient } from '@flotilla/kit/contracts';
import type { DbHost } from '@flotilla/kit';
import { FlotillaError } from '@flotilla/errors';
import type { ProcessSpec } from './supervisor.js';

/** Where a process's code is: a package's export (the platform's services), or a file. */
export type Entry = { package: string } | { file: string };

/** One process of the fleet, platform service or not, before it starts. */
export interface FleetProcess {
  /** Shown in progress lines and log prefixes: `metadata`, `metadata#2`. */
  name: string;
  /** Its identity: the service its join token is for. */
  service: string;
  entry: Entry;
  env: Record<string, string>;
  /** It keeps data: its database (PGlite, hosted by `flotilla up`, or DATABASE_URL). */
  database: boolean;
}

/** What every process of one fleet shares. */
export interface LaunchContext {
  /** The fleet file's folder: `entry.file` is relative to it. */
  root: string;
  /** Settings every process gets (control plane, trust, policies, issuer). */
  common: Record<string, string>;
  /** The embedded databases, when there is no DATABASE_URL. */
  dbHost: DbHost | undefined;
  /** Asks the control plane for each (re)start's join token. */
  admin: ControlAdminClient;
}

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

/**
 * The file `node` runs for an entry: a package's export resolved as Node resolves it
 * (`@flotilla/auth/main`), or a file relative to the fleet file.
 */
export function resolveEntry(entry: Entry, root: string): string {
  if ('file' in entry) return resolve(root, entry.file);
  try {
    return fileURLToPath(import.meta.resolve(entry.package));
  } catch (err) {
    throw new FlotillaError(
      'FLT_CONFIG_INVALID',
      `cannot find ${entry.package}: is Flotilla installed here (npm install)?`,
      { cause: err },
    );
  }
}

/**
 * How the supervisor starts one process of the fleet, the same way for every one: its
 * entry, the fleet's settings and its own, a fresh join token at every (re)start, and
 * its database served by this process when it keeps data and there is no DATABASE_URL.
 */
export function processSpec(ctx: LaunchContext, p: FleetProcess): ProcessSpec {
  const { dbHost } = ctx;
  const hosted = p.database && dbHost !== undefined;
  if (hosted) void dbHost.prepare(p.service).catch(() => undefined); // its first query reports a failure
  return {
    name: p.name,
    service: p.service,
    entry: resolveEntry(p.entry, ctx.root),
    env: async () => ({
      ...PROCESS_ENV,
      ...ctx.common,
      ...p.env,
      ...(hosted ? { FLOTILLA_DB: 'host' } : {}),
      FLOTILLA_JOIN_TOKEN: (await ctx.admin.createJoinToken(p.service)).token,
    }),
    nodeArgs: [...NODE_ARGS, ...BASELINE_WASM_NODE_ARGS],
    fixedPort: Boolean((p.env.PORT && p.env.PORT !== '0') || p.env.TLS_PORT),
    ...(hosted ? { onSpawn: (child) => dbHost.attach(child, p.service) } : {}),
  };
}
