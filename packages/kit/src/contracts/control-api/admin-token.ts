import { join } from 'node:path';

/**
 * Where the operator's admin token lives when it is not given as `FLOTILLA_ADMIN_TOKEN`:
 * written once by the control plane (0600, beside and never inside its data), read by the
 * operator's tools.
 *
 * @example
 * const token = (await readFile(adminTokenPath('.flotilla'), 'utf8')).trim();
 */
export function adminTokenPath(home: string): string {
  return join(home, 'secrets', 'admin-token');
}
