import { type KeyMetadata, KmsClient } from '@flotilla/kit/contracts';
import { type Args, type Handler, output, str } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { withOperator } from '../control-plane/operator.js';
import { printJson, printTable } from '../listing.js';

/**
 * Runs `use` with a client of the KMS, as the `operator` workload: the fleet's policies
 * (`kms-operator-admin`) let it administer keys and read their usage, never use them.
 */
function asKmsOperator<T>(args: Args, use: (kms: KmsClient) => Promise<T>): Promise<T> {
  return withOperator(args, async ({ mtls, urlOf }) => {
    const url = await urlOf('kms');
    return use(new KmsClient((request) => mtls.request('kms', url, request)));
  });
}

const keyName = (args: Args): string => args.positionals[0] ?? '';

function integer(args: Args, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} must be a whole number, not "${text}"`);
  return Number(text);
}

/** One key, as `-o json` (its metadata) or one line. */
function printKey(args: Args, verb: string, key: KeyMetadata): number {
  if (output(args, 'text') === 'json') printJson(key);
  else console.log(`${verb} ${key.name}: ${describeKey(key)}`);
  return 0;
}

function describeKey(k: KeyMetadata): string {
  const rotation = k.rotationDays === null ? 'by hand' : `every ${k.rotationDays} days`;
  const deletion = k.deletionDate ? `, destroyed on ${k.deletionDate}` : '';
  return `${k.state}, version ${k.currentVersion} (decrypts from ${k.minDecryptionVersion}), rotates ${rotation}${deletion}`;
}

/** `flotilla kms keys [-o table|json]`. */
export const keys: Handler = async (args) => {
  const all = await asKmsOperator(args, (kms) => kms.listKeys());
  if (output(args) === 'json') printJson({ keys: all });
  else
    printTable(
      ['NAME', 'STATE', 'VERSION', 'MIN', 'ROTATION', 'ROTATED', 'DESCRIPTION'],
      all.map((k) => [
        k.name,
        k.state === 'pending-deletion' ? `pending-deletion (${k.deletionDate ?? '?'})` : k.state,
        String(k.currentVersion),
        String(k.minDecryptionVersion),
        k.rotationDays === null ? '-' : `${k.rotationDays}d`,
        k.rotatedAt ?? '-',
        k.description || '-',
      ]),
    );
  return 0;
};

/** `flotilla kms create <name> [--rotation-days N] [--description TEXT]`. */
export const create: Handler = async (args) => {
  const rotationDays = integer(args, 'rotation-days');
  const description = str(args, 'description');
  const key = await asKmsOperator(args, (kms) =>
    kms.createKey({
      name: keyName(args),
      ...(rotationDays !== undefined ? { rotationDays } : {}),
      ...(description !== undefined ? { description } : {}),
    }),
  );
  return printKey(args, 'created', key);
};

/** `flotilla kms rotate <name>`: a new version for encryption; older versions still decrypt. */
export const rotate: Handler = async (args) =>
  printKey(args, 'rotated', await asKmsOperator(args, (kms) => kms.rotateKey(keyName(args))));

export const disable: Handler = async (args) =>
  printKey(args, 'disabled', await asKmsOperator(args, (kms) => kms.disableKey(keyName(args))));

export const enable: Handler = async (args) =>
  printKey(args, 'enabled', await asKmsOperator(args, (kms) => kms.enableKey(keyName(args))));

/** `flotilla kms schedule-deletion <name> --days N` (7-30): unusable at once, destroyed after. */
export const scheduleDeletion: Handler = async (args) => {
  const days = integer(args, 'days');
  if (days === undefined) throw new UsageError('kms schedule-deletion: --days N (7 to 30) is required');
  const key = await asKmsOperator(args, (kms) => kms.scheduleKeyDeletion(keyName(args), days));
  return printKey(args, 'scheduled the deletion of', key);
};

export const cancelDeletion: Handler = async (args) =>
  printKey(
    args,
    'cancelled the deletion of',
    await asKmsOperator(args, (kms) => kms.cancelKeyDeletion(keyName(args))),
  );

/** `flotilla kms usage <name> [--since ISO] [--limit N]`: who used the key for what, newest first. */
export const usage: Handler = async (args) => {
  const since = str(args, 'since');
  const limit = integer(args, 'limit');
  const records = await asKmsOperator(args, (kms) =>
    kms.usage(keyName(args), {
      ...(since !== undefined ? { since } : {}),
      ...(limit !== undefined ? { limit } : {}),
    }),
  );
  if (output(args) === 'json') printJson({ records });
  else
    printTable(
      ['TIME', 'CALLER', 'OPERATION', 'VERSION', 'OUTCOME', 'CONTEXT'],
      records.map((r) => [
        r.time,
        r.caller,
        r.operation,
        r.keyVersion === null ? '-' : String(r.keyVersion),
        r.outcome,
        Object.keys(r.context).length ? JSON.stringify(r.context) : '-',
      ]),
    );
  return 0;
};
