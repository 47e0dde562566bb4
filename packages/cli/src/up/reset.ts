import { readdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, parse, resolve } from 'node:path';
import { FlotillaError } from '@flotilla/errors';
import type { Fleet } from '../fleet/schema.js';
import { readState } from './fleet-state.js';

/**
 * Files only `flotilla up` writes in its home; a folder with none of them is not one
 * (`data`, `logs` or `build` alone prove nothing: plenty of folders have those).
 */
const HOME_MARKERS = ['fleet.json', 'ca.pem', 'control.json'];
/** A folder holding these is a project, never a state folder to delete. */
const PROJECT_MARKERS = ['package.json', '.git', 'flotilla.yaml'];

/**
 * The PostgreSQL schemas a fleet's processes use with `DATABASE_URL`: the kit names a
 * service's schema after the service (packages/kit/src/db/index.ts), and the platform's
 * control plane, auth service, KMS, storage and broker keep data too.
 */
export function fleetSchemas(fleet: Pick<Fleet, 'services'>): string[] {
  return [...new Set(['control', 'auth', 'kms', 'storage', 'broker', ...fleet.services.map((s) => s.name)])];
}

/** Refuses to delete anything that is not a stopped fleet's state folder. */
export async function checkResettableHome(home: string): Promise<'absent' | 'present'> {
  const dir = resolve(home);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!entries) return 'absent';
  if (dir === parse(dir).root || dir === homedir() || dir === dirname(homedir()))
    throw new FlotillaError('FLT_FORBIDDEN', `${dir} is not a Flotilla home; refusing to delete it`);
  const project = entries.find((e) => PROJECT_MARKERS.includes(e));
  if (project)
    throw new FlotillaError(
      'FLT_FORBIDDEN',
      `${dir} holds ${project}: it is a project, not a Flotilla home; refusing`,
    );
  if (entries.length > 0 && !entries.some((e) => HOME_MARKERS.includes(e)))
    throw new FlotillaError(
      'FLT_FORBIDDEN',
      `${dir} does not look like a Flotilla home (no ${HOME_MARKERS.join(', ')}); refusing`,
    );
  const state = await readState(dir).catch(() => undefined);
  if (state && isAlive(state.supervisorPid))
    throw new FlotillaError(
      'FLT_CONFLICT',
      `the fleet "${state.name}" is running from ${dir} (pid ${state.supervisorPid}): stop it first`,
    );
  return 'present';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the home: every service's embedded database, the secrets, the CA, logs, builds. */
export async function removeHome(home: string): Promise<void> {
  if ((await checkResettableHome(home)) === 'absent') return;
  await rm(resolve(home), { recursive: true, force: true });
}

export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Drops the fleet's schemas that exist (with everything in them); returns their names.
 * Only schemas the kit migrated (they hold its `flotilla_migrations` table): on a shared
 * database, another application's `auth` schema is not ours to drop.
 */
export async function dropSchemas(client: SqlClient, schemas: readonly string[]): Promise<string[]> {
  const { rows } = await client.query(
    `SELECT n.nspname FROM pg_namespace n
     WHERE n.nspname = ANY($1::text[])
       AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'flotilla_migrations')
     ORDER BY n.nspname`,
    [schemas],
  );
  const existing = (rows as Array<{ nspname: string }>).map((r) => r.nspname);
  for (const schema of existing) await client.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  return existing;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** True when `path` exists (for the dry run's listing). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
