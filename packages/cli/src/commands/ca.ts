import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ControlAdminClient, RevocationReason, TrustBundle } from '@flotilla/kit/contracts';
import { type Args, bool, type Handler, output, str } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { connectControl } from '../control-plane/connect.js';
import { printJson, printTable } from '../listing.js';

/** Runs `use` with the operator's client of the control plane, closed after. */
async function withControl<T>(args: Args, use: (admin: ControlAdminClient) => Promise<T>): Promise<T> {
  const admin = await connectControl(args);
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** `flotilla ca token <service> [--ttl SECONDS]`: a one-time join token, printed alone. */
export const caToken: Handler = async (args) => {
  const [service = ''] = args.positionals;
  const ttl = str(args, 'ttl');
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0))
    throw new UsageError(`--ttl must be a whole number of seconds (got "${ttl}")`);
  const { token } = await withControl(args, (admin) => admin.createJoinToken(service, ttlSeconds));
  console.log(token);
  return 0;
};

/** `flotilla ca sign --csr FILE --token TOKEN`: the certificate and its chain, PEM. */
export const caSign: Handler = async (args) => {
  const csrFile = str(args, 'csr');
  const token = str(args, 'token');
  if (!csrFile || !token)
    throw new UsageError(
      `${args.command} needs --csr FILE and --token TOKEN`,
      `Run "${args.command} --help"`,
    );
  const csr = await readFile(csrFile, 'utf8');
  const issued = await withControl(args, (admin) => admin.signCertificate(csr, token));
  process.stdout.write(pem([issued.certificate, ...issued.chain]));
  return 0;
};

/** `flotilla ca revoke <serial> | --service NAME [--reason R]`. */
export const caRevoke: Handler = async (args) => {
  const service = str(args, 'service');
  const [serial] = args.positionals;
  if ((service === undefined) === (serial === undefined))
    throw new UsageError(`${args.command} needs a serial or --service NAME (one of them)`);
  const reason = str(args, 'reason') as RevocationReason | undefined;
  const target = service !== undefined ? { service } : { serial: serial ?? '' };
  const revoked = await withControl(args, (admin) =>
    admin.revoke({ ...target, ...(reason ? { reason } : {}) }),
  );
  console.log(revoked.length ? revoked.map((s) => `revoked ${s}`).join('\n') : 'nothing to revoke');
  return 0;
};

/** `flotilla ca bundle [-o pem|json|table]`: roots, then intermediates. */
export const caBundle: Handler = async (args) => {
  const bundle = await withControl(args, (admin) => admin.bundle());
  const format = output(args, 'pem');
  if (format === 'json') printJson(bundle);
  else if (format === 'table') printBundleTable(bundle);
  else process.stdout.write(pem([...bundle.roots, ...bundle.intermediates]));
  return 0;
};

/** `flotilla ca rotate [--intermediate|--root]`. */
export const caRotate: Handler = async (args) => {
  if (bool(args, 'root') && bool(args, 'intermediate'))
    throw new UsageError(`${args.command} takes --root or --intermediate, not both`);
  const which = bool(args, 'root') ? 'root' : 'intermediate';
  const { created, bundle } = await withControl(args, (admin) => admin.rotateCa(which));
  console.log(`rotated the ${which}: created ${created.join(', ')}; bundle version ${bundle.version}`);
  return 0;
};

function printBundleTable(bundle: TrustBundle): void {
  const row = (kind: string, text: string) => {
    const cert = new X509Certificate(text);
    const sha256 = cert.fingerprint256.replaceAll(':', '').toLowerCase();
    return [
      kind,
      cert.subject.replaceAll('\n', ', '),
      new Date(cert.validTo).toISOString(),
      `${sha256.slice(0, 16)}…`,
    ];
  };
  printTable(
    ['KIND', 'SUBJECT', 'NOT AFTER', 'SHA-256'],
    [...bundle.roots.map((r) => row('root', r)), ...bundle.intermediates.map((i) => row('intermediate', i))],
  );
  console.log(`\nbundle version ${bundle.version}`);
}

function pem(items: string[]): string {
  return items.map((p) => `${p.trim()}\n`).join('');
}
