import { openDb } from '@flotilla/kit';
import { MIN_PASSWORD_LENGTH, migrations, recordRevocation, UserStore } from '@flotilla/auth/admin-local';
import { printError } from '../output.js';
import { argon2FromEnv, readStdin } from './auth-env.js';

const USAGE = `usage: flotilla users <command>

  add <name> --role R [--role R2] [--password-stdin]   create a user (password from stdin)
  disable <name>                                       disable a user and revoke their tokens
  enable <name>                                        enable a disabled user
  reset-mfa <name>                                     remove a user's TOTP and recovery codes
  list                                                 list users

Opens the auth service's database directly (DATABASE_URL, or PGlite under FLOTILLA_HOME).
With PGlite, stop the fleet first: flotilla up keeps the embedded database open while it runs.`;

/** `flotilla users add|disable|enable|reset-mfa|list`: admin commands; there is no self-signup. */
export async function run(argv: string[]): Promise<number> {
  const [sub, name, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  if (sub !== 'list' && !name) {
    printError(`users ${sub}: a user name is required`);
    return 2;
  }
  const db = await openDb({
    service: 'auth',
    url: process.env.DATABASE_URL,
    home: process.env.FLOTILLA_HOME ?? '.flotilla',
    migrations,
  });
  try {
    const users = new UserStore(db, argon2FromEnv());
    switch (sub) {
      case 'add': {
        const roles: string[] = [];
        for (let i = 0; i < rest.length; i++) {
          if (rest[i] === '--role' && rest[i + 1]) roles.push(rest[++i]!);
          else if (rest[i] !== '--password-stdin') {
            printError(`users add: unknown option ${rest[i]}`);
            return 2;
          }
        }
        if (!roles.length) {
          printError('users add: at least one --role is required');
          return 2;
        }
        if (!rest.includes('--password-stdin') && process.stdin.isTTY) {
          printError(
            `users add: pass the password on stdin with --password-stdin (at least ${MIN_PASSWORD_LENGTH} characters)`,
          );
          return 2;
        }
        const user = await users.add(name!, await readStdin(), roles);
        console.log(`added ${user.username} (${user.id}) roles=${user.roles.join(',')}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const user = await users.setDisabled(name!, sub === 'disable');
        if (!user) {
          printError(`users ${sub}: no user "${name}"`);
          return 1;
        }
        if (sub === 'disable') {
          // The running service publishes this row to gateways (it polls the table).
          const ttl = Number.parseInt(process.env.AUTH_ID_TOKEN_TTL ?? '', 10) || 3600;
          await recordRevocation(db, { type: 'user', sub: user.id }, ttl + 60);
        }
        console.log(`${sub}d ${user.username}`);
        return 0;
      }
      case 'reset-mfa': {
        if (!(await users.resetMfa(name!))) {
          printError(`users reset-mfa: no user "${name}"`);
          return 1;
        }
        console.log(`MFA reset for ${name}`);
        return 0;
      }
      case 'list': {
        for (const u of await users.list()) {
          console.log(
            `${u.username}\t${u.roles.join(',')}\t${u.disabled ? 'disabled' : 'active'}\t${u.totpSecret ? 'mfa' : '-'}`,
          );
        }
        return 0;
      }
      default:
        printError(`users: unknown command "${sub}" (run "flotilla users --help")`);
        return 2;
    }
  } catch (err) {
    printError(`users ${sub}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await db.close();
  }
}
