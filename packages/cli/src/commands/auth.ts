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

const USAGE = `usage: flotilla auth <command>

  rotate-keys        make the published "next" signing key active, retire the current one
                     (it stays in the JWKS until its tokens expire) and publish a new "next" key
  keys               list signing keys and their states
  hash-secret        read a client secret on stdin, print its Argon2id hash for the clients file

Opens the auth service's database directly (DATABASE_URL, or PGlite under FLOTILLA_HOME);
the running service picks up a rotation within AUTH_KEYS_POLL_MS.`;

/** `flotilla auth rotate-keys|keys|hash-secret`. */
export async function run(argv: string[]): Promise<number> {
  const [sub] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  if (sub === 'hash-secret') {
    const params = argon2FromEnv();
    const secret = await readStdin();
    if (secret.length < 16) {
      printError('auth hash-secret: a client secret needs at least 16 characters');
      return 2;
    }
    console.error(describeArgon2(params));
    console.log(await hashSecret(secret, params));
    return 0;
  }
  if (sub !== 'rotate-keys' && sub !== 'keys') {
    printError(`auth: unknown command "${sub}" (run "flotilla auth --help")`);
    return 2;
  }
  const home = process.env.FLOTILLA_HOME ?? '.flotilla';
  const db = await openDb({ service: 'auth', url: process.env.DATABASE_URL, home, migrations });
  try {
    const keys = new KeyStore(db, new Sealer(await loadKek(home, process.env.AUTH_KEYS_KEK)));
    if (sub === 'rotate-keys') {
      // A retired key stays published for the longest lifetime of anything it signed, plus skew.
      const retain = Math.max(int('AUTH_ACCESS_TOKEN_TTL', 300), int('AUTH_ID_TOKEN_TTL', 3600)) + 60;
      const r = await keys.rotate(retain);
      console.log(
        `active ${r.active}\nnext   ${r.next}\nretired ${r.retired.join(' ') || '-'} (published for ${retain} s)`,
      );
      return 0;
    }
    await keys.ensure();
    for (const k of await keys.load()) {
      console.log(`${k.kid}\t${k.state}\t${k.createdAt.toISOString()}\t${k.expiresAt?.toISOString() ?? '-'}`);
    }
    return 0;
  } catch (err) {
    printError(`auth ${sub}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await db.close();
  }
}
