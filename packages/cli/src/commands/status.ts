import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { adminFromHome } from '../up/admin-from-home.js';
import { listInstances } from '../up/control-admin.js';
import { readState } from '../up/fleet-state.js';

interface ServiceStatus {
  name: string;
  url: string;
  spiffeId: string | null;
  certNotAfter: string | null;
  ready: boolean;
  pid: number;
  memoryMB: number | null;
}

/**
 * `flotilla status [--json]`: each service's identity, certificate expiry, readiness and
 * memory (resident set from /proc, so what the machine gives the process), and the memory
 * of the `flotilla up` process that hosts the control plane.
 */
export async function run(argv: string[]): Promise<number> {
  const home = resolve(process.env.FLOTILLA_HOME ?? '.flotilla');
  const state = await readState(home);
  const admin = await adminFromHome(home);
  const registered = await listInstances(admin).catch(() => []);
  const services: ServiceStatus[] = await Promise.all(
    state.processes.map(async (p) => {
      const cert = await peekCertificate(p.url, admin.roots);
      const url = new URL(p.url);
      const instance = registered.find((i) => i.service === p.service && String(i.port) === url.port);
      // Auth and the gateway answer browsers; the registry vouches for the others.
      const ready = instance ? instance.healthy : await reachable(p.url, admin.roots);
      return {
        name: p.name,
        url: p.url,
        spiffeId: cert?.spiffeId ?? null,
        certNotAfter: cert?.notAfter ?? null,
        ready,
        pid: p.pid,
        memoryMB: await rssMB(p.pid),
      };
    }),
  );
  // The control plane runs inside the `flotilla up` process: its memory is that process's.
  const supervisor = { pid: state.supervisorPid, memoryMB: await rssMB(state.supervisorPid) };
  if (argv.includes('--json')) {
    console.log(
      JSON.stringify(
        { gateway: state.gateway, issuer: state.issuer, control: state.control, supervisor, services },
        null,
        2,
      ),
    );
    return services.every((s) => s.ready) ? 0 : 1;
  }
  console.log(
    `fleet ${state.name}: gateway ${state.gateway}  issuer ${state.issuer}  control ${state.control}\n`,
  );
  for (const s of services) {
    const expires = s.certNotAfter ? `cert until ${s.certNotAfter}` : 'no certificate seen';
    console.log(
      `  ${s.ready ? 'ready  ' : 'NOT READY'}  ${s.name.padEnd(12)} ${s.url.padEnd(28)} ${(s.spiffeId ?? '-').padEnd(40)} ${expires}  ${s.memoryMB ?? '?'} MB`,
    );
  }
  console.log(
    `\n  control plane and supervisor (flotilla up, pid ${supervisor.pid})  ${supervisor.memoryMB ?? '?'} MB` +
      `   memory: resident set (VmRSS) of each process`,
  );
  return services.every((s) => s.ready) ? 0 : 1;
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

async function rssMB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(join('/proc', String(pid), 'status'), 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}
