import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ControlAdmin } from './control-admin.js';
import { readState } from './fleet-state.js';

/** The running fleet's control plane, as its operator on this machine sees it. */
export async function adminFromHome(home: string): Promise<ControlAdmin> {
  const state = await readState(home);
  const read = async (file: string) => {
    try {
      return (await readFile(join(home, file), 'utf8')).trim();
    } catch {
      throw new Error(`cannot read ${join(home, file)}: is this the fleet's home folder?`);
    }
  };
  return { url: state.control, adminToken: await read('secrets/admin-token'), roots: await read('ca.pem') };
}
