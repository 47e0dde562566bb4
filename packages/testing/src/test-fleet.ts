import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ControlAdmin, joinToken } from './control-admin.js';

/** What `fleetJoiner` needs of a running control plane (`startControl`'s answer has it). */
export interface JoinableControl {
  url: string;
  adminToken: string;
  bundle(): { roots: string[] };
}

/**
 * A copy of a policy folder (without its `tests/`) in `home`, with `grants` — the test's
 * own Cedar policies — beside the fleet's. Returns the folder.
 *
 * @example
 * const policies = await policiesWithGrants(home, POLICY_DIR, 'permit (principal == Service::"app", …);');
 */
export async function policiesWithGrants(home: string, from: string, grants: string): Promise<string> {
  const dir = join(home, 'policies');
  await cp(from, dir, { recursive: true, filter: (src) => !src.includes('/tests') });
  await writeFile(join(dir, 'test-grants.cedar'), grants);
  return dir;
}

/**
 * The environment of a service joining a test's control plane as `service`: a fresh
 * join token, the control plane's URL, the home and policies, any free port, and `extra`.
 *
 * @example
 * const joined = fleetJoiner(control, { home, policies });
 * const kms = await createKmsService().start({ env: { ...(await joined('kms')), … } });
 */
export function fleetJoiner(
  control: JoinableControl,
  at: { home: string; policies: string },
  extra: Record<string, string> = {},
): (service: string) => Promise<Record<string, string>> {
  const admin: ControlAdmin = {
    url: control.url,
    adminToken: control.adminToken,
    roots: control.bundle().roots.join('\n'),
  };
  return async (service) => ({
    FLOTILLA_HOME: at.home,
    FLOTILLA_CONTROL_URL: control.url,
    FLOTILLA_JOIN_TOKEN: await joinToken(admin, service),
    FLOTILLA_POLICY_DIR: at.policies,
    FLOTILLA_ALLOWED_CALLS: '{}',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...extra,
  });
}
