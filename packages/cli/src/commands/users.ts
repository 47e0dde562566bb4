import { type AdminUser, MIN_PASSWORD_LENGTH } from '@flotilla/kit/contracts';
import { type Handler, bool, list as listOf, output } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { asOperator } from '../control-plane/operator.js';
import { printJson, printTable } from '../listing.js';
import { readStdin } from './auth-env.js';

/**
 * `flotilla users add <name> --role R [--role R2] [--password-stdin]`: there is no
 * self-signup. The password travels in the body of an mTLS call, never as an argument.
 */
export const add: Handler = async (args) => {
  const roles = listOf(args, 'role');
  if (!roles.length) throw new UsageError('users add: at least one --role is required');
  if (!bool(args, 'password-stdin') && process.stdin.isTTY) {
    throw new UsageError(
      `users add: pass the password on stdin with --password-stdin (at least ${MIN_PASSWORD_LENGTH} characters)`,
    );
  }
  const [username = ''] = args.positionals;
  const password = await readStdin();
  const user = await asOperator(args, (admin) => admin.addUser({ username, password, roles }));
  console.log(`added ${user.username} (${user.id}) roles=${user.roles.join(',')}`);
  return 0;
};

/** `flotilla users disable <name>`: the auth service revokes their tokens at once. */
export const disable: Handler = async (args) => {
  const user = await asOperator(args, (admin) => admin.disableUser(args.positionals[0] ?? ''));
  console.log(`disabled ${user.username}`);
  return 0;
};

/** `flotilla users enable <name>`. */
export const enable: Handler = async (args) => {
  const user = await asOperator(args, (admin) => admin.enableUser(args.positionals[0] ?? ''));
  console.log(`enabled ${user.username}`);
  return 0;
};

/** `flotilla users reset-mfa <name>`: remove their TOTP and recovery codes. */
export const resetMfa: Handler = async (args) => {
  const user = await asOperator(args, (admin) => admin.resetMfa(args.positionals[0] ?? ''));
  console.log(`MFA reset for ${user.username}`);
  return 0;
};

/** `flotilla users list [-o table|json]`. */
export const list: Handler = async (args) => {
  const users: AdminUser[] = await asOperator(args, (admin) => admin.listUsers());
  const all = users.map(({ username, roles, disabled, mfa }) => ({ username, roles, disabled, mfa }));
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
};
