import type { CsrRefusal } from './csr-check.js';
import type { IssuedLeaf } from './issue.js';

/** Messages between the signing pool and its workers (structured clone). */
export interface IssuerMessage {
  type: 'issuer';
  id: string;
  certPem: string;
  keyId: string;
  notAfter: number;
  /** The issuer's private key: a non-extractable CryptoKey, cloned to the worker, never exported. */
  key: unknown;
}

export interface SignJob {
  type: 'sign';
  id: number;
  csrPem: string;
  service: string;
  trustDomain: string;
  issuerId: string;
  ttlSeconds: number;
  publicUrl: string;
  now: number;
}

export type WorkerRequest = IssuerMessage | SignJob;

export type WorkerReply =
  | { id: number; leaf: Omit<IssuedLeaf, 'der'> & { der: Uint8Array } }
  | { id: number; refused: { reason: CsrRefusal; message: string } }
  | { id: number; failed: string };
