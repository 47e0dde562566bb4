import { Agent, request } from 'undici';

/** The operator's view of a running control plane: its URL, admin token, and roots. */
export interface ControlAdmin {
  url: string;
  adminToken: string;
  roots: string;
}

export interface RegistryInstance {
  id: string;
  service: string;
  address: string;
  port: number;
  version?: string;
  registeredAt: string;
  lastHeartbeatSecondsAgo: number;
  healthy: boolean;
}

async function call<T>(
  admin: ControlAdmin,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  // The control plane's certificate names `localhost`; its roots are the fleet's.
  const agent = new Agent({ connect: { ca: admin.roots, servername: 'localhost' } });
  try {
    const res = await request(new URL(path, admin.url), {
      method,
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${admin.adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.body.json()) as T & { detail?: string };
    if (res.statusCode >= 300)
      throw new Error(`control plane: ${method} ${path} answered ${res.statusCode} ${json.detail ?? ''}`);
    return json;
  } finally {
    await agent.close();
  }
}

/** A one-time join token bound to `service` (what `flotilla ca token` prints). */
export async function issueJoinToken(admin: ControlAdmin, service: string): Promise<string> {
  return (await call<{ token: string }>(admin, 'POST', '/v1/join-tokens', { service })).token;
}

export async function listInstances(admin: ControlAdmin): Promise<RegistryInstance[]> {
  return (await call<{ instances: RegistryInstance[] }>(admin, 'GET', '/v1/registry/instances')).instances;
}
