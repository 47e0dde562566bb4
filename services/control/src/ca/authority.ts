import type { KeyObject } from 'node:crypto';
import type { CryptoKey, x509 } from '../x509.js';

export type AuthorityKind = 'root' | 'intermediate';

/** A CA of ours, with its private key decrypted in memory. */
export interface Authority {
  id: string;
  kind: AuthorityKind;
  parentId: string | null;
  cert: x509.X509Certificate;
  pem: string;
  /** For WebCrypto (@peculiar/x509: CA certificates, CRLs); not extractable once loaded. */
  key: CryptoKey;
  /**
   * The same key for node:crypto's synchronous signing (leaves, OCSP). Held as a KeyObject
   * from the start: Node 24 deprecates making one from a non-extractable CryptoKey (DEP0204).
   */
  signingKey: KeyObject;
  /** Hex of the subjectKeyIdentifier, written as authorityKeyIdentifier into what it signs. */
  keyId: string;
  notAfter: Date;
  createdAt: Date;
  /** Intermediates sign nothing before this (a new root must be trusted first). */
  activatesAt: Date;
  retiredAt: Date | null;
}
