// The benchmark's service mesh for `--upstream mtls` (the default): a control plane in this
// process, the upstream as a Flotilla service (`kit-upstream.ts`) with its workload
// identity, registered in discovery and serving mTLS only, and a client certificate from
// the same control plane for HAProxy. The gateway joins with its own token and reaches the
// upstream as it does under `flotilla up`: discovery, mTLS with its workload certificate,
// the SPIFFE ID check of the peer. For (a), the same service code runs a second time
// without a control plane: plain HTTP.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualIdentity, MtlsClient, WorkloadIdentity } from '@flotilla/kit';
import { joinToken, type ServiceProcess, spawnService } from '@flotilla/testing';
import { pino } from 'pino';
import { type RunningControl, startControl } from '@flotilla/control';

const ENTRY = join(import.meta.dirname, 'kit-upstream.ts');
const POLICY_DIR = join(import.meta.dirname, '../../policies');
const TRUST_DOMAIN = 'flotilla.local';

export interface Mesh {
  /** (a): the same service over plain HTTP, e.g. `http://127.0.0.1:1234`. */
  directUrl: string;
  /** The mTLS service's process id (its CPU is the upstream's). */
  upstreamPid: number;
  /** Environment for a gateway process: the control plane and a fresh join token. */
  gatewayEnv(): Promise<Record<string, string>>;
  /** HAProxy's `server` line to the mTLS service, with its client certificate. */
  haproxyServer(): string;
  /** Requests the mTLS service has served, by caller SPIFFE ID. */
  callers(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** The SPIFFE ID of a service in the benchmark's trust domain. */
export const spiffeIdOf = (service: string) => `spiffe://${TRUST_DOMAIN}/svc/${service}`;

export async function startMesh(dir: string): Promise<Mesh> {
  const home = join(dir, 'mesh');
  const log = pino({ level: 'silent' });
  let control: RunningControl | undefined;
  const processes: ServiceProcess[] = [];
  let haproxyId: WorkloadIdentity | undefined;
  let client: MtlsClient | undefined;
  const stop = async () => {
    await client?.close();
    await haproxyId?.stop();
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await control?.stop();
  };
  try {
    control = await startControl({ env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0' } });
    const c = control;
    const admin = { url: c.url, adminToken: c.adminToken, roots: c.bundle().roots.join('\n') };
    const bundleFile = c.bundleFile ?? join(home, 'ca.pem');
    const call = { service: 'videos', method: 'GET', path: '/videos/:id' };
    const serviceEnv = {
      FLOTILLA_HOME: home,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      // Both proxies may call it; the benchmark itself may read who called (as haproxy).
      FLOTILLA_ALLOWED_CALLS: JSON.stringify({
        gateway: { calls: [call] },
        haproxy: { calls: [call, { service: 'videos', method: 'GET', path: '/__callers' }] },
      }),
    };
    const upstream = await spawnService(ENTRY, {
      ...serviceEnv,
      FLOTILLA_CONTROL_URL: c.url,
      FLOTILLA_JOIN_TOKEN: await joinToken(admin, 'videos'),
    });
    processes.push(upstream);
    const direct = await spawnService(ENTRY, { ...serviceEnv, FLOTILLA_CONTROL_URL: '' });
    processes.push(direct);

    // HAProxy's identity: a certificate for spiffe://…/svc/haproxy from the same CA.
    haproxyId = await WorkloadIdentity.join({
      service: 'haproxy',
      trustDomain: TRUST_DOMAIN,
      controlUrl: c.url,
      joinToken: await joinToken(admin, 'haproxy'),
      initialTrust: admin.roots,
      log,
    });
    const material = haproxyId.current();
    const clientPem = join(dir, 'haproxy-client.pem');
    writeFileSync(clientPem, `${material.cert.trim()}\n${material.key.trim()}\n`, { mode: 0o600 });
    const caPem = join(dir, 'mesh-ca.pem');
    writeFileSync(caPem, material.ca);
    client = new MtlsClient(new ManualIdentity(TRUST_DOMAIN, material));
    const upstreamUrl = new URL(upstream.url);
    const mtls = client;

    return {
      directUrl: direct.url,
      upstreamPid: upstream.pid,
      gatewayEnv: async () => ({
        FLOTILLA_CONTROL_URL: c.url,
        FLOTILLA_JOIN_TOKEN: await joinToken(admin, 'gateway'),
        FLOTILLA_CA_BUNDLE_FILE: bundleFile,
      }),
      // HAProxy cannot check a SPIFFE URI SAN: it verifies the chain against the fleet's roots.
      haproxyServer: () =>
        `server up ${upstreamUrl.hostname}:${upstreamUrl.port} ssl verify required ca-file ${caPem} crt ${clientPem} pool-max-conn 512`,
      callers: async () => {
        const res = await mtls.request('videos', upstream.url, { path: '/__callers' });
        return (await res.body.json()) as Record<string, number>;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
