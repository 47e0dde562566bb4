import { Agent, request } from 'undici';

/** What a test needs to act as the operator of a running control plane. */
export interface ControlAdmin {
  url: string;
  adminToken: string;
  /** PEM of the roots that vouch for the control plane. */
  roots: string;
}

/** Asks the control plane for a one-time join token for `service` (as `flotilla ca token` does). */
export async function joinToken(admin: ControlAdmin, service: string): Promise<string> {
  const agent = new Agent({ connect: { ca: admin.roots, servername: 'localhost' } });
  try {
    const res = await request(new URL('/v1/join-tokens', admin.url), {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${admin.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service }),
    });
    const body = (await res.body.json()) as { token?: string; detail?: string };
    if (res.statusCode !== 201 || !body.token)
      throw new Error(`join token refused: ${res.statusCode} ${body.detail ?? ''}`);
    return body.token;
  } finally {
    await agent.close();
  }
}
