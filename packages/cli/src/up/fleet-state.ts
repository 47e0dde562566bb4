import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlotillaError } from '@flotilla/errors';
import { writeSecret } from './secrets.js';

/** What `flotilla up` writes for `status`, `logs`, `token`, `services` and `ca` to read. */
export interface FleetState {
  name: string;
  startedAt: string;
  supervisorPid: number;
  gateway: string;
  issuer: string;
  control: string;
  /** The fleet's trust domain: the control plane is `spiffe://<trustDomain>/svc/control`. */
  trustDomain?: string;
  processes: Array<{ name: string; service: string; url: string; pid: number }>;
}

export const statePath = (home: string) => join(home, 'fleet.json');

export async function writeState(home: string, state: FleetState): Promise<void> {
  // The file names no secret, but it sits with them and needs no other reader.
  await writeSecret(statePath(home), state);
}

export async function readState(home: string): Promise<FleetState> {
  try {
    return JSON.parse(await readFile(statePath(home), 'utf8')) as FleetState;
  } catch {
    throw new FlotillaError(
      'FLT_UNAVAILABLE',
      `no running fleet found (${statePath(home)} is missing): start one with "flotilla up"`,
    );
  }
}
