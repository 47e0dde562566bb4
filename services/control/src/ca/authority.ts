import type { CryptoKey, x509 } from '../x509.js';

export type AuthorityKind = 'root' | 'intermediate';

/** A CA of ours, with its private key decrypted in memory. */
export interface Authority {
  id: string;
  kind: AuthorityKind;
  parentId: string | null;
  cert: x509.X509Certificate;
  pem: string;
  key: CryptoKey;
  /** Hex of the subjectKeyIdentifier, written as authorityKeyIdentifier into what it signs. */
  keyId: string;
  notAfter: Date;
  createdAt: Date;
  /** Intermediates sign nothing before this (a new root must be trusted first). */
  activatesAt: Date;
  retiredAt: Date | null;
}
