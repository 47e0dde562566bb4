import { type AuditEvent, ConfigError, FlotillaError, type ServiceContext } from '@flotilla/kit';
import { readPrivateFile } from '../private-file.js';
import { MIN_PASSWORD_LENGTH, type UserStore } from './store.js';

const SETTING = 'AUTH_BOOTSTRAP_USERS_FILE';
const USERNAME = /^[a-zA-Z0-9._@-]{1,64}$/;
const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

export interface BootstrapUser {
  username: string;
  password: string;
  roles: string[];
}

function fail(path: string, message: string): never {
  throw new ConfigError(SETTING, `${SETTING}: ${path}: ${message}`);
}

/**
 * Reads `{ "users": [ { "username", "password", "roles"? } ] }` from a 0600 JSON file.
 * Every mistake is one ConfigError line that never quotes a password (nor the JSON parser's
 * message, which may quote the text around the error).
 */
export function readBootstrapUsersFile(path: string): BootstrapUser[] {
  const text = readPrivateFile(path, SETTING);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    fail(path, 'is not valid JSON');
  }
  const list = (data as { users?: unknown } | null)?.users;
  if (!data || typeof data !== 'object' || !Array.isArray(list)) fail(path, 'must hold { "users": [ … ] }');
  const seen = new Set<string>();
  return list.map((entry: unknown, i): BootstrapUser => {
    const u = (entry ?? {}) as Record<string, unknown>;
    const where = `users[${i}]`;
    if (typeof u.username !== 'string' || !USERNAME.test(u.username))
      fail(path, `${where}.username must be 1-64 letters, digits or ._@-`);
    if (seen.has(u.username)) fail(path, `${where}: duplicate username "${u.username}"`);
    seen.add(u.username);
    if (typeof u.password !== 'string' || u.password.length < MIN_PASSWORD_LENGTH)
      fail(
        path,
        `${where} (${u.username}): password must be a string of at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    const roles = u.roles ?? [];
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || !ROLE.test(r)))
      fail(path, `${where} (${u.username}): roles must be a list of role names (a-z, 0-9, _ and -)`);
    const extra = Object.keys(u).filter((k) => !['username', 'password', 'roles'].includes(k));
    if (extra.length) fail(path, `${where} (${u.username}): unknown field ${extra.join(', ')}`);
    return { username: u.username, password: u.password, roles: roles as string[] };
  });
}

/**
 * Creates each user that does not exist yet. An existing user is never changed (password,
 * roles, MFA and disabled state stay as they are), so the file only seeds a fresh database.
 */
export async function bootstrapUsers(
  store: UserStore,
  users: readonly BootstrapUser[],
  audit: (event: AuditEvent) => Promise<unknown>,
  log: ServiceContext['log'],
): Promise<{ created: string[]; existing: string[] }> {
  const created: string[] = [];
  const existing: string[] = [];
  for (const u of users) {
    if (await store.byUsername(u.username)) {
      existing.push(u.username);
      continue;
    }
    try {
      const user = await store.add(u.username, u.password, u.roles);
      created.push(u.username);
      await audit({
        actor: 'bootstrap',
        action: 'user.create',
        target: u.username,
        outcome: 'success',
        details: { id: user.id, roles: user.roles, source: SETTING },
      });
    } catch (err) {
      // Another replica created it between the lookup and the insert: it exists, leave it.
      if (err instanceof FlotillaError && err.code === 'FLT_CONFLICT') existing.push(u.username);
      else throw err;
    }
  }
  if (users.length) log.info({ created, existing }, 'bootstrap users: created the missing ones');
  return { created, existing };
}
