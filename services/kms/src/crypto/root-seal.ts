import { randomBytes } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import { open, seal } from './aead.js';

export const KEY_BYTES = 32;

/** Seals key versions under the root key; the AAD names the key and version, so rows cannot be swapped. */
export class RootSealer {
  readonly #root: Buffer;

  constructor(root: Buffer) {
    this.#root = root;
  }

  /** A new AES-256 key version: its material, and that material sealed for the database. */
  newVersion(name: string, version: number): { material: Buffer; sealed: string } {
    const material = randomBytes(KEY_BYTES);
    return { material, sealed: seal(this.#root, material, aad(name, version)).toString('base64url') };
  }

  unseal(name: string, version: number, sealed: string): Buffer {
    const material = open(this.#root, Buffer.from(sealed, 'base64url'), aad(name, version));
    if (!material || material.length !== KEY_BYTES)
      throw new FlotillaError(
        'FLT_KEY_SEALED',
        `key ${name} version ${version} does not open with this root key (was the root key changed?)`,
      );
    return material;
  }
}

function aad(name: string, version: number): Buffer {
  return Buffer.from(`kms-key:${name}:${version}`);
}
