import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { RegisteredInstance } from '@flotilla/kit/contracts';
import { type Args, type Handler, output } from '../cli/spec.js';
import { connectControl, readRoots } from '../control-plane/connect.js';
import { fleetHome } from '../home.js';
import { printJson } from '../listing.js';
import { type FleetState, readState } from '../up/fleet-state.js';

interface ServiceStatus {
  name: string;
  url: string;
  spiffeId: string | null;
  certNotAfter: string | null;
  ready: boolean;
  pid: number;
  /** Resident set (VmRSS): everything in RAM for this process, shared pages included. */
  memoryMB: number | null;
  /** Proportional set (Pss): shared pages (Node's own code, mapped by every process) divided among their sharers. */
  pssMB: number | null;
  /** Pages only this process has (what stopping it would give back). */
  privateMB: number | null;
}

/**
 * `flotilla status [-o json]`: each service's identity, certificate expiry, readiness and
 * memory, and the memory of the `flotilla up` process that hosts the control plane and the
 * embedded databases. Memory is read from /proc three ways: resident (RSS), proportional
 * (PSS: the ~35–45 MB of Node's own code every process maps counted once across them)
 * and private. Exits 1 when a service is not ready.
 */
export const status: Handler = async (args) => {
  const home = fleetHome(args);
  const state = await readState(home);
  const roots = await readRoots(home);
  const registered = await registryInstances(args);
  const services: ServiceStatus[] = await Promise.all(
    state.processes.map(async (p) => {
      const cert = await peekCertificate(p.url, roots);
      const url = new URL(p.url);
      const instance = registered.find((i) => i.service === p.service && String(i.port) === url.port);
      // Auth and the gateway answer browsers; the registry vouches for the others.
      const ready = instance ? instance.healthy : await reachable(p.url, roots);
      return {
        name: p.name,
        url: p.url,
        spiffeId: cert?.spiffeId ?? null,
        certNotAfter: cert?.notAfter ?? null,
        ready,
        pid: p.pid,
        ...(await memory(p.pid)),
      };
    }),
  );
  // The control plane runs inside the `flotilla up` process: its memory is that process's.
  const supervisor = { pid: state.supervisorPid, ...(await memory(state.supervisorPid)) };
  const { gateway, issuer, control } = state;
  if (output(args) === 'json') printJson({ gateway, issuer, control, supervisor, services });
  else printStatus(state, services, supervisor);
  return services.every((s) => s.ready) ? 0 : 1;
};

/** What the registry says (empty if the control plane does not answer: status still shows the rest). */
async function registryInstances(args: Args): Promise<RegisteredInstance[]> {
  const admin = await connectControl(args);
  try {
    return await admin.instances().catch(() => []);
  } finally {
    await admin.close();
  }
}

function printStatus(
  state: FleetState,
  services: ServiceStatus[],
  supervisor: Memory & { pid: number },
): void {
  console.log(
    `fleet ${state.name}: gateway ${state.gateway}  issuer ${state.issuer}  control ${state.control}\n`,
  );
  for (const s of services) {
    const expires = s.certNotAfter ? `cert until ${s.certNotAfter}` : 'no certificate seen';
    console.log(
      `  ${s.ready ? 'ready  ' : 'NOT READY'}  ${s.name.padEnd(12)} ${s.url.padEnd(28)} ${(s.spiffeId ?? '-').padEnd(40)} ${expires}  ${memoryText(s)}`,
    );
  }
  console.log(
    `\n  control plane, embedded databases and supervisor (flotilla up, pid ${supervisor.pid})  ${memoryText(supervisor)}` +
      `\n  memory: RSS resident / PSS proportional (shared pages split among the processes sharing them) / private`,
  );
}

/** Reads the server certificate a service presents (the handshake may then fail for want of ours). */
function peekCertificate(
  url: string,
  roots: string,
): Promise<{ spiffeId: string | null; notAfter: string } | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port), ca: roots, servername: 'localhost' });
    const finish = (value: { spiffeId: string | null; notAfter: string } | undefined) => {
      socket.destroy();
      done(value);
    };
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      const uri = cert?.subjectAltName?.split(', ').find((n) => n.startsWith('URI:spiffe://'));
      finish(
        cert
          ? { spiffeId: uri ? uri.slice(4) : null, notAfter: new Date(cert.validTo).toISOString() }
          : undefined,
      );
    });
    socket.once('error', () => finish(undefined));
    socket.setTimeout(2000, () => finish(undefined));
  });
}

async function reachable(url: string, roots: string): Promise<boolean> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { ca: roots, servername: 'localhost' } });
  try {
    const res = await request(new URL('/.well-known/openid-configuration', url), {
      dispatcher: agent,
      headersTimeout: 2000,
    });
    await res.body.dump();
    return res.statusCode < 500;
  } catch {
    return false;
  } finally {
    await agent.close();
  }
}

type Memory = Pick<ServiceStatus, 'memoryMB' | 'pssMB' | 'privateMB'>;

/** A process's memory from /proc (Linux); nulls where it cannot be read (gone, another OS). */
export async function memory(pid: number): Promise<Memory> {
  const [status, rollup] = await Promise.all([
    readFile(join('/proc', String(pid), 'status'), 'utf8').catch(() => ''),
    readFile(join('/proc', String(pid), 'smaps_rollup'), 'utf8').catch(() => ''),
  ]);
  const mb = (text: string, field: string) => {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  };
  const clean = mb(rollup, 'Private_Clean');
  const dirty = mb(rollup, 'Private_Dirty');
  const round = (v: number | null) => (v === null ? null : Math.round(v));
  return {
    memoryMB: round(mb(status, 'VmRSS')),
    pssMB: round(mb(rollup, 'Pss')),
    privateMB: clean === null || dirty === null ? null : Math.round(clean + dirty),
  };
}

function memoryText(m: Memory): string {
  const v = (x: number | null) => (x === null ? '?' : String(x));
  return `RSS ${v(m.memoryMB)} MB  PSS ${v(m.pssMB)} MB  private ${v(m.privateMB)} MB`;
}
