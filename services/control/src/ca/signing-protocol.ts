import type { CsrRefusal } from './csr-check.js';
import type { IssuedLeaf } from './issue.js';

/** Messages between the signing pool and its workers (structured clone). */
export interface IssuerMessage {
  type: 'issuer';
  id: string;
  certPem: string;
  keyId: string;
  notAfter: number;
  /** The issuer's private key (a KeyObject: node:crypto clones it to the worker), never exported. */
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

/** Issuers a worker keeps: the one signing now and the one before it (a rotation's overlap). */
export const ISSUERS_KEPT = 2;

/**
 * Forgets all but the newest `ISSUERS_KEPT` issuers (insertion order), so that retired
 * intermediates' private keys do not stay in every worker for the life of the process.
 * The pool runs the same on its record of what each worker holds, in the same order.
 */
export function forgetOldIssuers(issuers: Map<string, unknown> | Set<string>): void {
  for (const id of [...issuers.keys()].slice(0, Math.max(0, issuers.size - ISSUERS_KEPT))) issuers.delete(id);
}
