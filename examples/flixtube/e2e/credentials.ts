import { readFileSync } from 'node:fs';

/**
 * The demo users' passwords, from the file `flotilla up` writes (mode 0600). Accepts
 * `{ "alice": "pw" }`, `{ "alice": { "password": "pw" } }` or
 * `{ "users": [{ "username": "alice", "password": "pw" }] }`.
 */
export function readPasswords(file: string): Record<string, string> {
  const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const out: Record<string, string> = {};
  if (data && typeof data === 'object' && Array.isArray((data as { users?: unknown }).users)) {
    for (const u of (data as { users: Array<{ username?: unknown; password?: unknown }> }).users) {
      if (typeof u.username === 'string' && typeof u.password === 'string') out[u.username] = u.password;
    }
    return out;
  }
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value === 'string') out[name] = value;
    else if (value && typeof (value as { password?: unknown }).password === 'string') {
      out[name] = (value as { password: string }).password;
    }
  }
  return out;
}
