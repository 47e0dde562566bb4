import type { Db, Queryable } from '@flotilla/kit';
import { hashToken, judgeToken, type TokenPeek, type TokenRow, wellFormedToken } from './join-tokens.js';
import { GroupCommit } from './group-commit.js';
import type { IssuedLeaf } from './issue.js';

/** A certificate to store, and the join token it uses up (bootstrap) or none (renewal). */
export interface IssueRecord {
  leaf: IssuedLeaf;
  service: string;
  token?: { hash: string; now: Date };
}

/**
 * The database side of issuing: token lookups and "use the token, store the certificate"
 * go through group commit, so concurrent requests share one query, and one statement (one
 * transaction) stores a batch. Each caller is answered only once that has committed.
 */
export class IssuanceStore {
  readonly #lookups: GroupCommit<string, TokenRow | undefined>;
  readonly #records: GroupCommit<IssueRecord, boolean>;

  constructor(db: Db) {
    this.#lookups = new GroupCommit((hashes) => lookupTokens(db, hashes));
    this.#records = new GroupCommit((records) => storeRecords(db, records));
  }

  /** The service a token is for, without using it; or why it cannot be used (`judgeToken`). */
  async peek(token: string, now: Date): Promise<TokenPeek> {
    if (!wellFormedToken(token)) return { problem: 'token_malformed' };
    return judgeToken(await this.#lookups.submit(hashToken(token)), now);
  }

  /**
   * Stores the certificate and, for a bootstrap, uses up its token in the same
   * transaction. Resolves false (and stores nothing) when the token was used, expired
   * or unknown by then: of concurrent uses of one token, exactly one wins.
   */
  record(record: IssueRecord): Promise<boolean> {
    return this.#records.submit(record);
  }
}

async function lookupTokens(db: Db, hashes: string[]): Promise<Array<TokenRow | undefined>> {
  const unique = [...new Set(hashes)];
  const { rows } = await db.query<TokenRow & { token_hash: string }>(
    `SELECT token_hash, service, expires_at, used_at FROM ca_join_tokens
     WHERE token_hash IN (${placeholders(unique.length, 1)})`,
    unique,
  );
  const byHash = new Map(rows.map((r) => [r.token_hash, r]));
  return hashes.map((h) => byHash.get(h));
}

/**
 * One statement for the whole batch (so one implicit transaction, one commit): the
 * conditional UPDATE uses the tokens — the atomic step: of concurrent uses of one token, one sees its row — and the
 * INSERT stores a certificate only for a record that needs no token or whose token that
 * UPDATE just used. Returns, per record, whether it was stored.
 */
async function storeRecords(db: Queryable, records: IssueRecord[]): Promise<boolean[]> {
  // The first request of a batch to name a token is the one that may use it; a later one
  // in the same batch finds it used, exactly as if it had come in a transaction of its own.
  const claimed = new Set<string>();
  const candidates = records.filter((r) => {
    if (!r.token) return true;
    if (claimed.has(r.token.hash)) return false;
    claimed.add(r.token.hash);
    return true;
  });
  if (candidates.length === 0) return records.map(() => false);
  const issuedAt = new Date();
  const params = candidates.flatMap(({ leaf, service, token }) => [
    token?.hash ?? null,
    token?.now ?? issuedAt,
    leaf.serial,
    service,
    leaf.issuerId,
    leaf.pem,
    leaf.notBefore,
    leaf.notAfter,
  ]);
  const types = ['text', 'timestamptz', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz'];
  const { rows } = await db.query<{ serial: string }>(
    `WITH v (hash, now, serial, service, issuer_id, cert_pem, not_before, not_after) AS (
       VALUES ${rowsOf(candidates.length, types.length, types)}
     ), used AS (
       UPDATE ca_join_tokens AS t SET used_at = v.now FROM v
       WHERE t.token_hash = v.hash AND t.used_at IS NULL AND t.expires_at > v.now
       RETURNING t.token_hash
     )
     INSERT INTO ca_certificates (serial, service, issuer_id, cert_pem, not_before, not_after, issued_at)
     SELECT v.serial, v.service, v.issuer_id, v.cert_pem, v.not_before, v.not_after, $${params.length + 1}::timestamptz
     FROM v WHERE v.hash IS NULL OR v.hash IN (SELECT token_hash FROM used)
     RETURNING serial`,
    [...params, issuedAt],
  );
  const stored = new Set(rows.map((r) => r.serial));
  const sent = new Set(candidates);
  return records.map((r) => sent.has(r) && stored.has(r.leaf.serial));
}

/** `$from, $from+1, …` for `count` parameters. Only numbers go into the SQL text. */
function placeholders(count: number, from: number, types: readonly string[] = []): string {
  return Array.from({ length: count }, (_, i) => {
    const type = types[i];
    return type ? `$${from + i}::${type}` : `$${from + i}`;
  }).join(', ');
}

/** `($1, $2), ($3, $4), …`: `count` rows of `width` parameters each. */
function rowsOf(count: number, width: number, types: readonly string[] = []): string {
  return Array.from({ length: count }, (_, i) => `(${placeholders(width, 1 + i * width, types)})`).join(', ');
}
