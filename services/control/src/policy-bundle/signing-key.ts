import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { type Db, FlotillaError } from '@flotilla/kit';
import { openKey, sealKey } from '../ca/key-encryption.js';

/** The control plane's policy-bundle signing key (ES256): private part sealed, public part published. */
export interface PolicySigningKey {
  kid: string;
  privateKey: KeyObject;
  /** Public JWK with `kid`, `alg` and `use`, as published in `/v1/bundle`'s `policyKeys`. */
  publicJwk: JsonWebKey;
}

interface KeyRow {
  kid: string;
  public_jwk: string;
  key_iv: string;
  key_tag: string;
  key_ct: string;
}

const purpose = (kid: string) => `policy-bundle:${kid}`;

/**
 * The policy-bundle signing keys: the newest signs, and it and the one before it are
 * published, so that a service holding a bundle signed by the previous key still
 * verifies it while the next bundle (signed by the new key) reaches it. Keys are
 * generated here (P-256) and stored sealed under the key-encryption key in the database,
 * like the CA keys: a private key never leaves this process in the clear and is never logged.
 */
export class PolicyKeyring {
  private constructor(
    private readonly db: Db,
    private readonly kek: Buffer,
    /** Published keys, newest first. */
    private keys: PolicySigningKey[],
  ) {}

  /** Loads the published keys, or generates the first one. */
  static async open(db: Db, kek: Buffer): Promise<PolicyKeyring> {
    let rows = await publishedRows(db);
    if (rows.length === 0) {
      await storeNewKey(db, kek);
      rows = await publishedRows(db);
    }
    return new PolicyKeyring(
      db,
      kek,
      rows.map((row) => open(kek, row)),
    );
  }

  /** The key that signs new bundles. */
  get active(): PolicySigningKey {
    const key = this.keys[0];
    if (!key) throw new FlotillaError('FLT_INTERNAL', 'no policy signing key');
    return key;
  }

  /** Public JWKs that verify bundles: the active key and the previous one. */
  publicKeys(): JsonWebKey[] {
    return this.keys.map((k) => k.publicJwk);
  }

  /**
   * A new signing key; the previous one stays published for the overlap, any older one is
   * retired (no longer published, so bundles it signed stop verifying).
   */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const previous = this.active.kid;
    const kid = await storeNewKey(this.db, this.kek);
    const { rows } = await this.db.query<{ kid: string }>(
      `UPDATE policy_signing_keys SET retired_at = now()
       WHERE retired_at IS NULL AND kid <> $1 AND kid <> $2 RETURNING kid`,
      [kid, previous],
    );
    this.keys = (await publishedRows(this.db)).map((row) => open(this.kek, row));
    return { kid, retired: rows.map((r) => r.kid) };
  }
}

/** The first signing key, generated and stored if there is none (see `PolicyKeyring`). */
export async function loadPolicySigningKey(db: Db, kek: Buffer): Promise<PolicySigningKey> {
  return (await PolicyKeyring.open(db, kek)).active;
}

async function storeNewKey(db: Db, kek: Buffer): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = `policy-${thumbprint(jwk).slice(0, 16)}`;
  const publicJwk = { ...jwk, kid, alg: 'ES256', use: 'sig' };
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const sealed = sealKey(kek, purpose(kid), pkcs8);
  await db.query(
    `INSERT INTO policy_signing_keys (kid, public_jwk, key_iv, key_tag, key_ct)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING`,
    [kid, JSON.stringify(publicJwk), sealed.iv, sealed.tag, sealed.ct],
  );
  return kid;
}

/**
 * Published keys, newest first: at most two (the active and the previous). Two control
 * planes starting at once on an empty database may both store a first key; the newest wins
 * and both stay published.
 */
async function publishedRows(db: Db): Promise<KeyRow[]> {
  const { rows } = await db.query<KeyRow>(
    `SELECT kid, public_jwk, key_iv, key_tag, key_ct FROM policy_signing_keys
     WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 2`,
  );
  return rows;
}

function open(kek: Buffer, row: KeyRow): PolicySigningKey {
  const der = openKey(kek, purpose(row.kid), { iv: row.key_iv, tag: row.key_tag, ct: row.key_ct });
  return {
    kid: row.kid,
    privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    publicJwk: JSON.parse(row.public_jwk) as JsonWebKey,
  };
}

/** RFC 7638 thumbprint of an EC public key. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}
