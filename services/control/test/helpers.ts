import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { promisify } from 'node:util';
import { x509 } from '@flotilla/kit';
import { ControlAdminClient } from '@flotilla/kit/contracts';
import { type RunningControl, startControl } from '../src/index.js';

const run = promisify(execFile);

export interface TestControl extends RunningControl {
  home: string;
  cleanup(): Promise<void>;
}

/** A control plane on a temporary FLOTILLA_HOME with PGlite in memory (or DATABASE_URL when given). */
export async function startTestControl(
  env: Record<string, string> = {},
  opts: { home?: string; persistent?: boolean } = {},
): Promise<TestControl> {
  const { home } = opts;
  const dir = home ?? (await mkdtemp(joinPath(tmpdir(), 'flotilla-control-')));
  const control = await startControl({
    env: { FLOTILLA_HOME: dir, LOG_LEVEL: 'silent', ...env },
    inMemoryDb: !env.DATABASE_URL && !opts.persistent,
  });
  return {
    ...control,
    home: dir,
    cleanup: async () => {
      await control.stop();
      if (!home) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  admin?: string;
  cert?: string;
  key?: string;
  /** Raw body (sent as is, JSON content type). */
  raw?: string;
}

export interface CallResult {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are inspected freely
  body: any;
}

/**
 * One HTTPS call to the control plane (or, with an absolute URL as `path`, to a service
 * of its fleet), verifying the server against the control plane's roots.
 */
export function call(
  control: RunningControl,
  method: string,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<CallResult> {
  const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, control.url),
      {
        method,
        ca: control.bundle().roots.join(''),
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        agent: false,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.admin ? { authorization: `Bearer ${opts.admin}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/** A key pair and CSR, P-256 by default; options produce the malformed variants. */
export async function makeCsr(
  opts: {
    name?: string;
    sans?: x509.JsonGeneralName[];
    algorithm?: 'p256' | 'p384' | 'rsa';
  } = {},
): Promise<KeyAndCsr> {
  const algorithm =
    opts.algorithm === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : { ...EC, namedCurve: opts.algorithm === 'p384' ? 'P-384' : 'P-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    keys: keys as never,
    signingAlgorithm:
      opts.algorithm === 'rsa' ? algorithm : opts.algorithm === 'p384' ? { ...SIGN, hash: 'SHA-384' } : SIGN,
    extensions: opts.sans ? [new x509.SubjectAlternativeNameExtension(opts.sans)] : [],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

export function spiffe(service: string, td = 'flotilla.local'): string {
  return `spiffe://${td}/svc/${service}`;
}

/** A CSR as the kit makes it: CN and the SPIFFE URI SAN. */
export function serviceCsr(service: string): Promise<KeyAndCsr> {
  return makeCsr({ name: `CN=${service}`, sans: [{ type: 'url', value: spiffe(service) }] });
}

/** A join token for `service`, asked for as the operator does (through the contract's client). */
export async function joinToken(
  control: RunningControl,
  service: string,
  ttlSeconds?: number,
): Promise<string> {
  const admin = new ControlAdminClient({
    url: control.url,
    roots: control.bundle().roots.join(''),
    adminToken: control.adminToken,
  });
  try {
    return (await admin.createJoinToken(service, ttlSeconds)).token;
  } finally {
    await admin.close();
  }
}

/** Joins as `service`: returns the issue response and the key. */
export async function join(control: RunningControl, service: string) {
  const { keyPem, csrPem } = await serviceCsr(service);
  const res = await call(control, 'POST', '/v1/certificates', {
    csr: csrPem,
    token: await joinToken(control, service),
  });
  if (res.status !== 201) throw new Error(`issue: ${res.status} ${JSON.stringify(res.body)}`);
  const issued = res.body as {
    certificate: string;
    chain: string[];
    bundle: string[];
    serial: string;
    notAfter: string;
    spiffeId: string;
  };
  return { ...issued, keyPem, certChainPem: [issued.certificate, ...issued.chain].join('') };
}

export async function openssl(args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args, { cwd, encoding: 'utf8' });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(joinPath(dir, name), text);
}

/** The audit records of the control plane in a test's FLOTILLA_HOME. */
export interface AuditLine {
  action: string;
  outcome: string;
  actor: string;
  reason?: string;
  target?: string;
  details?: Record<string, unknown>;
}

export async function auditRecords(home: string): Promise<AuditLine[]> {
  const text = await readFile(joinPath(home, 'audit', 'control.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);
}

export async function certificateCount(control: RunningControl): Promise<number> {
  return control.ca.countCertificates();
}
