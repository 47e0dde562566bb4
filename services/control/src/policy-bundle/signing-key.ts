import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { Db } from '@flotilla/kit';
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
 * Loads the signing key, or generates it once (P-256) and stores it sealed under the
 * key-encryption key in the database, like the CA keys. The private key never leaves
 * this process in the clear and is never logged.
 */
export async function loadPolicySigningKey(db: Db, kek: Buffer): Promise<PolicySigningKey> {
  const existing = await currentKey(db);
  if (existing) return open(kek, existing);

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = `policy-${thumbprint(jwk).slice(0, 16)}`;
  const publicJwk = { ...jwk, kid, alg: 'ES256', use: 'sig' };
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const sealed = sealKey(kek, purpose(kid), pkcs8);
  // Two control planes starting at once on one database: the first key stored wins.
  await db.query(
    `INSERT INTO policy_signing_keys (kid, public_jwk, key_iv, key_tag, key_ct)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING`,
    [kid, JSON.stringify(publicJwk), sealed.iv, sealed.tag, sealed.ct],
  );
  const stored = await currentKey(db);
  if (!stored) throw new Error('policy signing key was not stored');
  return open(kek, stored);
}

async function currentKey(db: Db): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>(
    'SELECT kid, public_jwk, key_iv, key_tag, key_ct FROM policy_signing_keys ORDER BY created_at, kid LIMIT 1',
  );
  return rows[0];
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
