import { FlotillaError } from '@flotilla/kit';
import type { EncryptionContext } from '@flotilla/kit/contracts';
import { open, seal } from './aead.js';

/**
 * A KMS ciphertext: `kms:v1:<key>:<version>:<base64url(nonce|ct|tag)>`. The key name and
 * version are in clear so that the KMS knows which key version to open it with (and the
 * policies which key to decide on); both are bound in the AAD, so editing them fails.
 */
export interface ParsedCiphertext {
  key: string;
  version: number;
  sealed: Buffer;
}

const FORMAT = /^kms:v1:([a-z][a-z0-9-]{0,62}):([1-9][0-9]{0,8}):([A-Za-z0-9_-]{38,})$/;

export function parseCiphertext(text: string): ParsedCiphertext {
  const m = FORMAT.exec(text);
  if (!m)
    throw new FlotillaError('FLT_KMS_CIPHERTEXT_INVALID', 'not a KMS ciphertext (kms:v1:<key>:<version>:…)');
  return { key: m[1]!, version: Number(m[2]), sealed: Buffer.from(m[3]!, 'base64url') };
}

/**
 * The encryption context in one canonical form — keys sorted by code unit, JSON — so
 * that `{a, b}` and `{b, a}` are the same context (AWS KMS treats the map as unordered).
 */
export function canonicalContext(context: EncryptionContext = {}): string {
  const sorted = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return JSON.stringify(Object.fromEntries(sorted));
}

/** The AAD of a ciphertext: format, key name, version and context. */
function aad(key: string, version: number, context: EncryptionContext | undefined): Buffer {
  return Buffer.from(`kms:v1:${key}:${version}:${canonicalContext(context)}`);
}

export function encryptUnder(
  material: Buffer,
  key: string,
  version: number,
  plaintext: Uint8Array,
  context?: EncryptionContext,
): string {
  const sealed = seal(material, plaintext, aad(key, version, context));
  return `kms:v1:${key}:${version}:${sealed.toString('base64url')}`;
}

/** The plaintext, or FLT_KMS_CIPHERTEXT_INVALID: another context, another key, a changed byte look alike. */
export function decryptWith(material: Buffer, parsed: ParsedCiphertext, context?: EncryptionContext): Buffer {
  const plaintext = open(material, parsed.sealed, aad(parsed.key, parsed.version, context));
  if (!plaintext)
    throw new FlotillaError(
      'FLT_KMS_CIPHERTEXT_INVALID',
      'the ciphertext does not decrypt: it was changed, or the context or key is not the one it was made with',
    );
  return plaintext;
}
