import { randomUUID } from 'node:crypto';
import { type Db, FlotillaError } from '@flotilla/kit';
import { MIN_PASSWORD_LENGTH } from '@flotilla/kit/contracts';
import { type Argon2Params, hashSecret } from './password.js';

export interface User {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  /** Encrypted TOTP secret (JWE) once MFA is enrolled and confirmed. */
  totpSecret: string | null;
  /** Encrypted TOTP secret awaiting its first code. */
  totpPending: string | null;
  totpLastEpoch: number | null;
  /** Argon2id hashes of unused recovery codes. */
  recoveryCodes: string[];
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  totp_secret: string | null;
  totp_pending: string | null;
  totp_last_epoch: number | null;
  recovery_codes: string[];
}

const USERNAME = /^[a-zA-Z0-9._@-]{1,64}$/;
const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;
export { MIN_PASSWORD_LENGTH };

function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    passwordHash: r.password_hash,
    roles: r.roles,
    disabled: r.disabled,
    totpSecret: r.totp_secret,
    totpPending: r.totp_pending,
    totpLastEpoch: r.totp_last_epoch,
    recoveryCodes: r.recovery_codes,
  };
}

/** Users of the auth service. Created by an admin only: there is no self-signup. */
export class UserStore {
  constructor(
    private readonly db: Db,
    private readonly argon2: Argon2Params,
  ) {}

  async add(username: string, password: string, roles: string[]): Promise<User> {
    if (!USERNAME.test(username)) {
      throw new FlotillaError('FLT_VALIDATION', 'username must be 1-64 letters, digits or ._@-');
    }
    const bad = roles.find((r) => !ROLE.test(r));
    if (bad !== undefined) throw new FlotillaError('FLT_VALIDATION', `invalid role "${bad}"`);
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new FlotillaError(
        'FLT_VALIDATION',
        `password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    const id = randomUUID();
    const passwordHash = await hashSecret(password, this.argon2);
    const { rowCount } = await this.db.query(
      `INSERT INTO users (id, username, password_hash, roles) VALUES ($1, $2, $3, $4)
       ON CONFLICT (username) DO NOTHING`,
      [id, username, passwordHash, JSON.stringify([...new Set(roles)])],
    );
    if (rowCount === 0) throw new FlotillaError('FLT_CONFLICT', `user "${username}" exists`);
    return (await this.byId(id))!;
  }

  async byId(id: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] && toUser(rows[0]);
  }

  async byUsername(username: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    return rows[0] && toUser(rows[0]);
  }

  async list(): Promise<User[]> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users ORDER BY username');
    return rows.map(toUser);
  }

  /** Returns false when no such user. */
  async setDisabled(username: string, disabled: boolean): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>(
      'UPDATE users SET disabled = $2, updated_at = now() WHERE username = $1 RETURNING *',
      [username, disabled],
    );
    return rows[0] && toUser(rows[0]);
  }

  async setPassword(username: string, password: string): Promise<boolean> {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new FlotillaError(
        'FLT_VALIDATION',
        `password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    const { rowCount } = await this.db.query(
      'UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1',
      [username, await hashSecret(password, this.argon2)],
    );
    return rowCount > 0;
  }

  async resetMfa(username: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_epoch = NULL,
         recovery_codes = '[]', updated_at = now() WHERE username = $1`,
      [username],
    );
    return rowCount > 0;
  }

  async setPendingTotp(id: string, encryptedSecret: string): Promise<void> {
    await this.db.query('UPDATE users SET totp_pending = $2, updated_at = now() WHERE id = $1', [
      id,
      encryptedSecret,
    ]);
  }

  async confirmTotp(id: string, epoch: number, recoveryHashes: string[]): Promise<void> {
    await this.db.query(
      `UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_epoch = $2,
         recovery_codes = $3, updated_at = now() WHERE id = $1 AND totp_pending IS NOT NULL`,
      [id, epoch, JSON.stringify(recoveryHashes)],
    );
  }

  /**
   * Records the time step of a used code; false when a code of this or a later step
   * was already used (RFC 6238 §5.2: a verifier must not accept the same OTP twice).
   */
  async useTotpEpoch(id: string, epoch: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE users SET totp_last_epoch = $2 WHERE id = $1
         AND (totp_last_epoch IS NULL OR totp_last_epoch < $2)`,
      [id, epoch],
    );
    return rowCount > 0;
  }

  /** Removes one used recovery code (its stored hash); false when it was already gone. */
  async useRecoveryCode(id: string, codeHash: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ recovery_codes: string[] }>(
        'SELECT recovery_codes FROM users WHERE id = $1 FOR UPDATE',
        [id],
      );
      const codes = rows[0]?.recovery_codes ?? [];
      if (!codes.includes(codeHash)) return false;
      await tx.query('UPDATE users SET recovery_codes = $2 WHERE id = $1', [
        id,
        JSON.stringify(codes.filter((c) => c !== codeHash)),
      ]);
      return true;
    });
  }
}
