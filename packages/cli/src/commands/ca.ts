import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { adminTokenPath } from '@flotilla/kit/contracts';
import { serviceSpiffeId, spiffeIdOfCertificate } from '@flotilla/kit';
import { printError } from '../output.js';

const USAGE = `usage: flotilla ca <command> [--url URL]

  token <service> [--ttl SECONDS]     print a one-time join token for a service
  sign --csr FILE --token TOKEN       sign a CSR with a join token; prints the chain PEM
  revoke <serial> | --service NAME    revoke a certificate, or every one of a service
  bundle [--json]                     print the trust bundle (roots, then intermediates)
  rotate [--intermediate|--root]      rotate a CA (default: the intermediate)

The control plane is found by --url, FLOTILLA_CONTROL_URL or <FLOTILLA_HOME>/control.json;
its roots in FLOTILLA_CA_BUNDLE_FILE or <FLOTILLA_HOME>/ca.pem; the admin token in
FLOTILLA_ADMIN_TOKEN or <FLOTILLA_HOME>/secrets/admin-token.`;

class UsageError extends Error {}

/** `flotilla ca …`: talks to a running control plane over TLS. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  try {
    const args = parseArgs(rest);
    const client = await connect(args.flags.url);
    switch (sub) {
      case 'token': {
        const service = one(args.positional, 'token <service>');
        const ttl = args.flags.ttl ? Number(args.flags.ttl) : undefined;
        const body = await client.call(
          'POST',
          '/v1/join-tokens',
          { service, ...(ttl ? { ttlSeconds: ttl } : {}) },
          true,
        );
        console.log(body.token);
        return 0;
      }
      case 'sign': {
        if (!args.flags.csr || !args.flags.token)
          throw new UsageError('sign needs --csr FILE and --token TOKEN');
        const csr = await readFile(args.flags.csr, 'utf8');
        const body = await client.call('POST', '/v1/certificates', { csr, token: args.flags.token }, false);
        process.stdout.write(pem([body.certificate as string, ...(body.chain as string[])]));
        return 0;
      }
      case 'revoke': {
        const target = args.flags.service
          ? { service: args.flags.service }
          : { serial: one(args.positional, 'revoke <serial>') };
        const body = await client.call('POST', '/v1/revocations', target, true);
        const revoked = body.revoked as string[];
        console.log(revoked.length ? revoked.map((s) => `revoked ${s}`).join('\n') : 'nothing to revoke');
        return 0;
      }
      case 'bundle': {
        const body = await client.call('GET', '/v1/bundle', undefined, false);
        if (args.flags.json) console.log(JSON.stringify(body, null, 2));
        else process.stdout.write(pem([...(body.roots as string[]), ...(body.intermediates as string[])]));
        return 0;
      }
      case 'rotate': {
        const which = args.flags.root ? 'root' : 'intermediate';
        const body = await client.call('POST', '/v1/ca/rotate', { which }, true);
        const bundle = body.bundle as { version: number };
        console.log(
          `rotated the ${which}: created ${(body.created as string[]).join(', ')}; bundle version ${bundle.version}`,
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown ca command "${sub}" (run "flotilla ca --help")`);
    }
  } catch (err) {
    printError(err instanceof Error ? err.message : String(err));
    return err instanceof UsageError ? 2 : 1;
  }
}

interface Args {
  positional: string[];
  flags: Record<string, string | undefined>;
}

const BOOLEAN_FLAGS = new Set(['json', 'root', 'intermediate']);

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | undefined> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name = '', inline] = arg.slice(2).split('=', 2);
    if (BOOLEAN_FLAGS.has(name)) flags[name] = 'true';
    else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    }
  }
  return { positional, flags };
}

function one(values: string[], usage: string): string {
  if (values.length !== 1 || !values[0]) throw new UsageError(`usage: flotilla ca ${usage}`);
  return values[0];
}

function pem(items: string[]): string {
  return items.map((p) => `${p.trim()}\n`).join('');
}

export interface ControlConnection {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the control plane
  call(method: string, path: string, body: unknown, admin: boolean): Promise<Record<string, any>>;
}

/**
 * A TLS connection to the control plane that checks its SPIFFE id, with the admin token
 * when a call needs it (found as the usage text above says).
 */
export async function connect(urlFlag: string | undefined): Promise<ControlConnection> {
  const home = process.env.FLOTILLA_HOME ?? '.flotilla';
  const url = urlFlag ?? process.env.FLOTILLA_CONTROL_URL ?? (await controlJsonUrl(home));
  const caFile = process.env.FLOTILLA_CA_BUNDLE_FILE ?? join(home, 'ca.pem');
  const ca = await readFile(caFile, 'utf8').catch(() => {
    throw new Error(`cannot read the control plane's roots at ${caFile} (set FLOTILLA_CA_BUNDLE_FILE)`);
  });
  const trustDomain = process.env.FLOTILLA_TRUST_DOMAIN ?? 'flotilla.local';
  const expected = serviceSpiffeId(trustDomain, 'control');
  let adminToken: string | undefined;
  const admin = async () => {
    adminToken ??=
      process.env.FLOTILLA_ADMIN_TOKEN ??
      (await readFile(adminTokenPath(home), 'utf8').then(
        (t) => t.trim(),
        () => {
          throw new Error(`no admin token: set FLOTILLA_ADMIN_TOKEN or create ${adminTokenPath(home)}`);
        },
      ));
    return adminToken;
  };
  return {
    async call(method, path, body, needsAdmin) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = {};
      if (payload !== undefined) headers['content-type'] = 'application/json';
      if (needsAdmin) headers.authorization = `Bearer ${await admin()}`;
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          new URL(path, url),
          {
            method,
            ca,
            headers,
            // Not just "signed by our CA": it must be the control plane's SPIFFE id.
            checkServerIdentity: (_host: string, cert: PeerCertificate) => {
              const id = cert.raw ? spiffeIdOfCertificate(new Uint8Array(cert.raw))?.id : undefined;
              return id === expected
                ? undefined
                : new Error(`server is ${id ?? 'no SPIFFE id'}, expected ${expected}`);
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
            );
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
      const parsed = safeJson(text);
      if (status >= 300) {
        const detail = typeof parsed?.detail === 'string' ? parsed.detail : text.slice(0, 200);
        throw new Error(`control plane refused ${method} ${path}: ${status} ${detail}`);
      }
      if (!parsed)
        throw new Error(`control plane answered ${method} ${path} with something that is not JSON`);
      return parsed;
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the control plane
function safeJson(text: string): Record<string, any> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
    return value && typeof value === 'object' ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

async function controlJsonUrl(home: string): Promise<string> {
  const file = join(home, 'control.json');
  try {
    const { url } = JSON.parse(await readFile(file, 'utf8')) as { url?: unknown };
    if (typeof url === 'string') return url;
  } catch {
    // fall through
  }
  throw new Error(
    `no control plane: pass --url, set FLOTILLA_CONTROL_URL, or run "flotilla control" (${file})`,
  );
}
