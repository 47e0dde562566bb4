import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FlotillaError } from '@flotilla/kit';
import { readOrCreateSecret, secretsDir } from '../secrets.js';

/** A CA private key as stored: AES-256-GCM ciphertext of its PKCS#8 DER. */
export interface SealedKey {
  iv: string;
  tag: string;
  ct: string;
}

/** The CA's keys cannot be opened: a malformed or wrong key-encryption key, or tampered data. */
export class KekError extends FlotillaError {
  constructor(message: string) {
    super('FLT_KEY_SEALED', message);
    this.name = 'KekError';
  }
}

const KEK_BYTES = 32;
// NIST SP 800-38D §8.2: a random 96-bit IV per encryption; each key is sealed once.
const IV_BYTES = 12;

/**
 * The key-encryption key: `FLOTILLA_CA_KEK` (base64 of 32 bytes) or a generated key in
 * `<home>/secrets/ca-kek` (0600), outside `<home>/data` so a copy of the data alone
 * does not reveal the CA keys.
 */
export async function loadKek(home: string, fromEnv: string | undefined): Promise<Buffer> {
  if (fromEnv !== undefined) return decodeKek(fromEnv, 'FLOTILLA_CA_KEK');
  const path = kekPath(home);
  const text = await readOrCreateSecret(path, () => randomBytes(KEK_BYTES).toString('base64'));
  return decodeKek(text, path);
}

export function kekPath(home: string): string {
  return join(secretsDir(home), 'ca-kek');
}

function decodeKek(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  // Round-trip check: Buffer.from ignores junk characters instead of failing.
  if (key.length !== KEK_BYTES || key.toString('base64') !== trimmed) {
    throw new KekError(`${where} must be the base64 of exactly ${KEK_BYTES} bytes`);
  }
  return key;
}

/** The AAD names what the key is for, so a sealed key cannot be swapped for another CA's. */
function aad(purpose: string): Buffer {
  return Buffer.from(`flotilla-ca-key:v1:${purpose}`, 'utf8');
}

export function sealKey(kek: Buffer, purpose: string, pkcs8: Uint8Array): SealedKey {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(aad(purpose));
  const ct = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

export function openKey(kek: Buffer, purpose: string, sealed: SealedKey): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed.iv, 'base64'), {
    authTagLength: 16,
  });
  decipher.setAAD(aad(purpose));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
  } catch {
    throw new KekError(
      `cannot decrypt the key of CA ${purpose}: wrong key-encryption key (FLOTILLA_CA_KEK or secrets/ca-kek) or tampered data`,
    );
  }
}
