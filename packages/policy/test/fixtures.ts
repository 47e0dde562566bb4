import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntityInput } from '../src/index.js';

/** The fleet's real policy directory, so tests exercise the policies that ship. */
export const FLEET_DIR = fileURLToPath(new URL('../../../policies', import.meta.url));

export async function fleetSchema(): Promise<string> {
  return readFile(join(FLEET_DIR, 'schema.cedarschema'), 'utf8');
}

/** A temporary policy directory with the fleet schema and the given files. */
export async function tempPolicyDir(
  files: Record<string, string>,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-policy-'));
  await writeFile(join(dir, 'schema.cedarschema'), await fleetSchema());
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const user = (
  id: string,
  attrs: Record<string, unknown> = {},
  parents: string[] = [],
): EntityInput => ({
  uid: { type: 'User', id },
  attrs: { roles: [], mfa: true, ...attrs },
  parents,
});

export const video = (id: string, owner: string): EntityInput => ({
  uid: { type: 'Video', id },
  attrs: { owner: { __entity: { type: 'User', id: owner } } },
});

/** FlixTube people and videos used across tests. */
export const people: EntityInput[] = [
  user('alice'),
  user('bob'),
  user('carol', { roles: ['admin'] }, ['Role::"admin"']),
  user('dave', { roles: ['admin'], mfa: false }, ['Role::"admin"']),
  { uid: 'Role::"admin"' },
  video('v1', 'alice'),
];
