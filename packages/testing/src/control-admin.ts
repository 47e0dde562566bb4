import { ControlAdminClient } from '@flotilla/kit/contracts';

/** What a test needs to act as the operator of a running control plane. */
export interface ControlAdmin {
  url: string;
  adminToken: string;
  /** PEM of the roots that vouch for the control plane. */
  roots: string;
  /** The control plane's trust domain (default `flotilla.local`). */
  trustDomain?: string;
}

/**
 * Asks the control plane for a one-time join token for `service` (as `flotilla ca token`
 * does), through the control plane's contract client.
 *
 * @example
 * const env = { FLOTILLA_JOIN_TOKEN: await joinToken(admin, 'metadata') };
 */
export async function joinToken(admin: ControlAdmin, service: string): Promise<string> {
  const client = new ControlAdminClient(admin);
  try {
    return (await client.createJoinToken(service)).token;
  } finally {
    await client.close();
  }
}
