import { openDb } from '@flotilla/kit';
import { MIN_PASSWORD_LENGTH, migrations, recordRevocation, UserStore } from '@flotilla/auth/admin-local';
import { printError } from '../output.js';
import { argon2FromEnv, readStdin } from './auth-env.js';
import { type Args, bool, type Handler, list as listOf, output } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { printJson, printTable } from '../listing.js';

type Db = Awaited<ReturnType<typeof openDb>>;

/**
 * A `flotilla users` command against the auth service's database (DATABASE_URL, or PGlite
 * under FLOTILLA_HOME): opened for the command, closed after.
 */
const withUsers =
  (run: (users: UserStore, db: Db, args: Args) => Promise<number>): Handler =>
  async (args) => {
    const db = await openDb({
      service: 'auth',
      url: process.env.DATABASE_URL,
      home: process.env.FLOTILLA_HOME ?? '.flotilla',
      migrations,
    });
    try {
      return await run(new UserStore(db, argon2FromEnv()), db, args);
    } catch (err) {
      printError(
        `${args.command.replace(/^flotilla /, '')}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return 1;
    } finally {
      await db.close();
    }
  };

/** `flotilla users add <name> --role R [--role R2] [--password-stdin]`: there is no self-signup. */
export const add: Handler = async (args) => {
  const roles = listOf(args, 'role');
  if (!roles.length) throw new UsageError('users add: at least one --role is required');
  if (!bool(args, 'password-stdin') && process.stdin.isTTY) {
    throw new UsageError(
      `users add: pass the password on stdin with --password-stdin (at least ${MIN_PASSWORD_LENGTH} characters)`,
    );
  }
  return withUsers(async (users, _db, { positionals: [name = ''] }) => {
    const user = await users.add(name, await readStdin(), roles);
    console.log(`added ${user.username} (${user.id}) roles=${user.roles.join(',')}`);
    return 0;
  })(args);
};

const setDisabled = (disabled: boolean) =>
  withUsers(async (users, db, { positionals: [name = ''] }) => {
    const sub = disabled ? 'disable' : 'enable';
    const user = await users.setDisabled(name, disabled);
    if (!user) {
      printError(`users ${sub}: no user "${name}"`);
      return 1;
    }
    if (disabled) {
      // The running service publishes this row to gateways (it polls the table).
      const ttl = Number.parseInt(process.env.AUTH_ID_TOKEN_TTL ?? '', 10) || 3600;
      await recordRevocation(db, { type: 'user', sub: user.id }, ttl + 60);
    }
    console.log(`${sub}d ${user.username}`);
    return 0;
  });

/** `flotilla users disable <name>`: and revoke their tokens. */
export const disable = setDisabled(true);
/** `flotilla users enable <name>`. */
export const enable = setDisabled(false);

/** `flotilla users reset-mfa <name>`: remove their TOTP and recovery codes. */
export const resetMfa = withUsers(async (users, _db, { positionals: [name = ''] }) => {
  if (!(await users.resetMfa(name))) {
    printError(`users reset-mfa: no user "${name}"`);
    return 1;
  }
  console.log(`MFA reset for ${name}`);
  return 0;
});

/** `flotilla users list [-o table|json]`. */
export const list = withUsers(async (users, _db, args) => {
  const all = (await users.list()).map((u) => ({
    username: u.username,
    roles: u.roles,
    disabled: u.disabled,
    mfa: Boolean(u.totpSecret),
  }));
  if (output(args) === 'json') printJson({ users: all });
  else
    printTable(
      ['USERNAME', 'ROLES', 'STATUS', 'MFA'],
      all.map((u) => [
        u.username,
        u.roles.join(','),
        u.disabled ? 'disabled' : 'active',
        u.mfa ? 'mfa' : '-',
      ]),
    );
  return 0;
});
