import { openDb } from '@flotilla/kit';
import {
  describeArgon2,
  hashSecret,
  KeyStore,
  loadKek,
  migrations,
  Sealer,
} from '@flotilla/auth/admin-local';
import { printError } from '../output.js';
import { argon2FromEnv, intSetting as int, readStdin } from './auth-env.js';
import { type Args, type Handler, output } from '../cli/spec.js';
import { printJson, printTable } from '../listing.js';

/**
 * A `flotilla auth` command against the auth service's signing keys (DATABASE_URL, or
 * PGlite under FLOTILLA_HOME); the running service picks up a rotation within
 * AUTH_KEYS_POLL_MS.
 */
const withKeys =
  (run: (keys: KeyStore, args: Args) => Promise<number>): Handler =>
  async (args) => {
    const home = process.env.FLOTILLA_HOME ?? '.flotilla';
    const db = await openDb({ service: 'auth', url: process.env.DATABASE_URL, home, migrations });
    try {
      const keys = new KeyStore(db, new Sealer(await loadKek(home, process.env.AUTH_KEYS_KEK)));
      return await run(keys, args);
    } catch (err) {
      printError(
        `${args.command.replace(/^flotilla /, '')}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return 1;
    } finally {
      await db.close();
    }
  };

/** `flotilla auth rotate-keys`: next → active, active → retired (still published), a new next. */
export const rotateKeys = withKeys(async (keys) => {
  // A retired key stays published for the longest lifetime of anything it signed, plus skew.
  const retain = Math.max(int('AUTH_ACCESS_TOKEN_TTL', 300), int('AUTH_ID_TOKEN_TTL', 3600)) + 60;
  const r = await keys.rotate(retain);
  console.log(
    `active ${r.active}\nnext   ${r.next}\nretired ${r.retired.join(' ') || '-'} (published for ${retain} s)`,
  );
  return 0;
});

/** `flotilla auth keys [-o table|json]`: the signing keys and their states. */
export const keys = withKeys(async (store, args) => {
  await store.ensure();
  const all = (await store.load()).map((k) => ({
    kid: k.kid,
    state: k.state,
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
  }));
  if (output(args) === 'json') printJson({ keys: all });
  else
    printTable(
      ['KID', 'STATE', 'CREATED', 'EXPIRES'],
      all.map((k) => [k.kid, k.state, k.createdAt, k.expiresAt ?? '-']),
    );
  return 0;
});

/** `flotilla auth hash-secret`: a client secret on stdin, its Argon2id hash on stdout. */
export const hashSecretCommand: Handler = async () => {
  const params = argon2FromEnv();
  const secret = await readStdin();
  if (secret.length < 16) {
    printError('auth hash-secret: a client secret needs at least 16 characters');
    return 2;
  }
  console.error(describeArgon2(params));
  console.log(await hashSecret(secret, params));
  return 0;
};
