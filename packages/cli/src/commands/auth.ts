import { DEFAULT_ARGON2, describeArgon2, hashSecret } from '@flotilla/auth';
import { type Handler, output } from '../cli/spec.js';
import { asOperator } from '../control-plane/operator.js';
import { printJson, printTable } from '../listing.js';
import { printError } from '../output.js';
import { argon2FromEnv, readStdin } from './auth-env.js';

/**
 * `flotilla auth rotate-keys`: next → active, active → retired (still published for the
 * longest lifetime of anything it signed), a new next; through the auth service's admin
 * API, which reloads its keys at once.
 */
export const rotateKeys: Handler = async (args) => {
  const r = await asOperator(args, (admin) => admin.rotateKeys());
  console.log(
    `active ${r.active}\nnext   ${r.next}\nretired ${r.retired.join(' ') || '-'} (published for ${r.retainSeconds} s)`,
  );
  return 0;
};

/** `flotilla auth keys [-o table|json]`: the signing keys and their states. */
export const keys: Handler = async (args) => {
  const all = await asOperator(args, (admin) => admin.listKeys());
  if (output(args) === 'json') printJson({ keys: all });
  else
    printTable(
      ['KID', 'STATE', 'CREATED', 'EXPIRES'],
      all.map((k) => [k.kid, k.state, k.createdAt, k.expiresAt ?? '-']),
    );
  return 0;
};

/**
 * `flotilla auth hash-secret`: a client secret on stdin, its Argon2id hash on stdout, for
 * a clients file written by hand (the auth service's own format and cost).
 */
export const hashSecretCommand: Handler = async () => {
  const params = { ...DEFAULT_ARGON2, ...argon2FromEnv() };
  const secret = await readStdin();
  if (secret.length < 16) {
    printError('auth hash-secret: a client secret needs at least 16 characters');
    return 2;
  }
  console.error(describeArgon2(params));
  console.log(await hashSecret(secret, params));
  return 0;
};
