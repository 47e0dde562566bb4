import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlotillaError } from '@flotilla/errors';
import { adminTokenPath, ControlAdminClient } from '@flotilla/kit/contracts';
import { type Args, str } from '../cli/spec.js';
import { fleetHome } from '../home.js';
import { readState } from '../up/fleet-state.js';

/**
 * The operator's client of a running control plane, found the way `flotilla ca --help`
 * says: `--url`, `FLOTILLA_CONTROL_URL`, `<home>/control.json` (`flotilla control`) or
 * `<home>/fleet.json` (`flotilla up`); its roots in `FLOTILLA_CA_BUNDLE_FILE` or
 * `<home>/ca.pem`; the admin token, read only when a call needs it, in
 * `FLOTILLA_ADMIN_TOKEN` or `<home>/secrets/admin-token`. The connection accepts only
 * the control plane of the fleet's trust domain.
 *
 * @example
 * const admin = await connectControl(args);
 * try { console.log((await admin.bundle()).version); } finally { await admin.close(); }
 */
export async function connectControl(args: Args): Promise<ControlAdminClient> {
  return (await openControl(args)).client;
}

/** The operator's client of the control plane, with what it was found with. */
export interface OpenControl {
  client: ControlAdminClient;
  trustDomain: string;
  /** PEM of the fleet's roots. */
  roots: string;
  home: string;
}

/** {@link connectControl}, keeping the trust domain and roots for the caller's own use. */
export async function openControl(args: Args): Promise<OpenControl> {
  const home = fleetHome(args);
  const found = await locate(home, str(args, 'url'));
  const roots = await readRoots(home);
  const tokenFile = adminTokenPath(home);
  const trustDomain = process.env.FLOTILLA_TRUST_DOMAIN ?? found.trustDomain ?? 'flotilla.local';
  const client = new ControlAdminClient({
    url: found.url,
    roots,
    trustDomain,
    adminToken: async () =>
      process.env.FLOTILLA_ADMIN_TOKEN ??
      (await readFile(tokenFile, 'utf8').then(
        (t) => t.trim(),
        () => {
          throw new FlotillaError(
            'FLT_UNAUTHENTICATED',
            `no admin token: set FLOTILLA_ADMIN_TOKEN or create ${tokenFile}`,
          );
        },
      )),
  });
  return { client, trustDomain, roots, home };
}

/** The fleet's roots (PEM): `FLOTILLA_CA_BUNDLE_FILE`, else `<home>/ca.pem`. */
export async function readRoots(home: string): Promise<string> {
  const caFile = process.env.FLOTILLA_CA_BUNDLE_FILE ?? join(home, 'ca.pem');
  return readFile(caFile, 'utf8').catch(() => {
    throw new FlotillaError(
      'FLT_CONFIG_INVALID',
      `cannot read the control plane's roots at ${caFile} (set FLOTILLA_CA_BUNDLE_FILE, or --home)`,
    );
  });
}

async function locate(
  home: string,
  flag: string | undefined,
): Promise<{ url: string; trustDomain?: string }> {
  const url = flag ?? process.env.FLOTILLA_CONTROL_URL;
  if (url) return { url };
  const standalone = await readFile(join(home, 'control.json'), 'utf8')
    .then((text) => (JSON.parse(text) as { url?: unknown }).url)
    .catch(() => undefined);
  if (typeof standalone === 'string') return { url: standalone };
  const fleet = await readState(home).catch(() => undefined);
  if (fleet) return { url: fleet.control, ...(fleet.trustDomain ? { trustDomain: fleet.trustDomain } : {}) };
  throw new FlotillaError(
    'FLT_UNAVAILABLE',
    `no control plane in ${home}: pass --url, set FLOTILLA_CONTROL_URL, or start one ("flotilla up" or "flotilla control")`,
  );
}
