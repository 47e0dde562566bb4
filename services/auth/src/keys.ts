import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '@flotilla/kit';
import { SIGNING_ALGORITHM } from '@flotilla/kit/contracts';
import { CompactEncrypt, compactDecrypt, exportJWK, generateKeyPair, type JWK } from 'jose';

/** The one signing algorithm, the access-token contract's; never negotiated, never guessed. */
export const SIGNING_ALG = SIGNING_ALGORITHM;

/** Encrypts small secrets at rest as compact JWE (`dir` + `A256GCM`, RFC 7516). */
export class Sealer {
  constructor(private readonly kek: Uint8Array) {}

  async seal(plaintext: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(this.kek);
  }

  async open(jwe: string): Promise<string> {
    const { plaintext } = await compactDecrypt(jwe, this.kek, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return new TextDecoder().decode(plaintext);
  }
}

/**
 * The key-encryption key: `AUTH_KEYS_KEK` when set, else a random key generated at first
 * start in `FLOTILLA_HOME/auth/kek` (mode 0600, folder 0700, never in git).
 */
export async function loadKek(home: string, configured: string | undefined): Promise<Uint8Array> {
  if (configured) return Buffer.from(configured, 'base64url');
  const dir = join(home, 'auth');
  const file = join(dir, 'kek');
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const kek = randomBytes(32);
  try {
    await writeFile(file, `${kek.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    return kek;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
  }
}

export type KeyState = 'next' | 'active' | 'retired';

export interface StoredKey {
  kid: string;
  state: KeyState;
  jwk: JWK;
  createdAt: Date;
  expiresAt: Date | null;
}

interface KeyRow {
  kid: string;
  jwe: string;
  state: KeyState;
  created_at: Date;
  expires_at: Date | null;
}

async function newKey(sealer: Sealer): Promise<{ kid: string; jwe: string }> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = randomBytes(12).toString('base64url');
  return { kid, jwe: await sealer.seal(JSON.stringify({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' })) };
}

/**
 * Signing keys with overlap: the `active` key signs; the `next` key is published
 * before it ever signs (so verifiers have it cached when it takes over); `retired`
 * keys stay published until every token they signed has expired.
 */
export class KeyStore {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** At first start: an active and a next key. */
  async ensure(): Promise<void> {
    const { rows } = await this.db.query<{ state: KeyState }>('SELECT state FROM signing_keys');
    for (const state of ['active', 'next'] as const) {
      if (!rows.some((r) => r.state === state)) {
        const { kid, jwe } = await newKey(this.sealer);
        await this.db.query('INSERT INTO signing_keys (kid, jwe, state) VALUES ($1, $2, $3)', [
          kid,
          jwe,
          state,
        ]);
      }
    }
  }

  /** Private JWKs, the active key first (oidc-provider signs with the first match). */
  async load(): Promise<StoredKey[]> {
    const { rows } = await this.db.query<KeyRow>(
      `SELECT kid, jwe, state, created_at, expires_at FROM signing_keys
       WHERE expires_at IS NULL OR expires_at > now()
       ORDER BY CASE state WHEN 'active' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, created_at DESC`,
    );
    return Promise.all(
      rows.map(async (r) => ({
        kid: r.kid,
        state: r.state,
        jwk: JSON.parse(await this.sealer.open(r.jwe)) as JWK,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
      })),
    );
  }

  /** A fingerprint of the key set, to notice a rotation made by another process. */
  async version(): Promise<string> {
    const { rows } = await this.db.query<{ kid: string; state: string }>(
      `SELECT kid, state FROM signing_keys WHERE expires_at IS NULL OR expires_at > now() ORDER BY kid`,
    );
    return rows.map((r) => `${r.kid}:${r.state}`).join(',');
  }

  /**
   * Rotates: `next` becomes `active`, `active` becomes `retired` and stays published for
   * `retainSeconds` (the longest lifetime of anything it signed), a fresh `next` is published.
   */
  async rotate(retainSeconds: number): Promise<{ active: string; next: string; retired: string[] }> {
    await this.ensure();
    const fresh = await newKey(this.sealer);
    return this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE signing_keys SET state = 'retired', retired_at = now(),
           expires_at = now() + make_interval(secs => $1) WHERE state = 'active'`,
        [retainSeconds],
      );
      await tx.query("UPDATE signing_keys SET state = 'active' WHERE state = 'next'");
      await tx.query("INSERT INTO signing_keys (kid, jwe, state) VALUES ($1, $2, 'next')", [
        fresh.kid,
        fresh.jwe,
      ]);
      const { rows } = await tx.query<{ kid: string; state: KeyState }>(
        'SELECT kid, state FROM signing_keys WHERE expires_at IS NULL OR expires_at > now()',
      );
      return {
        active: rows.find((r) => r.state === 'active')?.kid ?? '',
        next: fresh.kid,
        retired: rows.filter((r) => r.state === 'retired').map((r) => r.kid),
      };
    });
  }

  /** A named random secret (e.g. cookie signing keys), created once, sealed at rest. */
  async secret(name: string): Promise<string> {
    const { rows } = await this.db.query<{ jwe: string }>('SELECT jwe FROM secrets WHERE name = $1', [name]);
    if (rows[0]) return this.sealer.open(rows[0].jwe);
    const value = randomBytes(32).toString('base64url');
    await this.db.query('INSERT INTO secrets (name, jwe) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      await this.sealer.seal(value),
    ]);
    const again = await this.db.query<{ jwe: string }>('SELECT jwe FROM secrets WHERE name = $1', [name]);
    return this.sealer.open(again.rows[0]!.jwe);
  }
}
