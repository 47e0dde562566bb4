import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '@flotilla/kit';

export const DEFAULT_TOKEN_TTL_SECONDS = 600;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface JoinToken {
  token: string;
  service: string;
  expiresAt: Date;
}

export type TokenProblem = 'token_malformed' | 'token_unknown' | 'token_used' | 'token_expired';

/** Only the SHA-256 of a token is stored: a copy of the database lets no one join. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A random, single-use token bound to one service name. */
export async function createJoinToken(
  db: Db,
  service: string,
  ttlSeconds: number,
  now = new Date(),
): Promise<JoinToken> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  await db.query(
    'INSERT INTO ca_join_tokens (token_hash, service, expires_at, created_at) VALUES ($1, $2, $3, $4)',
    [hashToken(token), service, expiresAt, now],
  );
  return { token, service, expiresAt };
}

export type TokenPeek = { service: string } | { problem: TokenProblem; service?: string };

/** What a token's row says about using it `now` (undefined: no such token). */
export interface TokenRow {
  service: string;
  expires_at: Date;
  used_at: Date | null;
}

/** True when `token` has the shape of one of ours (checked before any lookup). */
export function wellFormedToken(token: string): boolean {
  return TOKEN.test(token);
}

/** The verdict on a token's row: the service it is for, or why it cannot be used. */
export function judgeToken(row: TokenRow | undefined, now: Date): TokenPeek {
  if (!row) return { problem: 'token_unknown' };
  if (row.used_at) return { problem: 'token_used', service: row.service };
  if (new Date(row.expires_at) <= now) return { problem: 'token_expired', service: row.service };
  return { service: row.service };
}

/** Revoking a service also voids the tokens it has not used yet. */
export async function voidJoinTokens(tx: Queryable, service: string, now: Date): Promise<void> {
  await tx.query('UPDATE ca_join_tokens SET used_at = $2 WHERE service = $1 AND used_at IS NULL', [
    service,
    now,
  ]);
}
