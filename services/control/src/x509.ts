// @peculiar/x509 needs reflect-metadata loaded first and a WebCrypto provider set once.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/** ECDSA P-256 for every key the CA makes; SHA-256 for every signature it makes. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export const subtle = webcrypto.subtle;

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** PEM text that always ends in a newline, so PEMs concatenate into a valid bundle. */
export function pemOf(item: { toString(format: 'pem'): string }): string {
  return `${item.toString('pem').trim()}\n`;
}
