/** What a service needs to speak mTLS: its key, its certificate chain, and whom to trust. */
export interface TlsMaterial {
  /** PKCS#8 PEM of the private key; it was generated in this process and never leaves it. */
  key: string;
  /** PEM of the leaf followed by its intermediates. */
  cert: string;
  /** PEM of the trusted roots (the trust bundle; old and new during a rotation). */
  ca: string;
  spiffeId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * A source of TLS material that may change (renewal, CA rotation) and of revocation
 * status. The kit builds its server and client contexts from `current()` and rebuilds
 * them on every change; it asks `isRevoked` about every peer.
 */
export interface IdentitySource {
  readonly trustDomain: string;
  current(): TlsMaterial;
  /** Called after the material changed (renewal, new trust bundle). */
  onChange(listener: (material: TlsMaterial) => void): () => void;
  /** Called after the set of revoked serials changed. */
  onRevocation(listener: () => void): () => void;
  /** True if the peer certificate with this serial (any hex form) is revoked. */
  isRevoked(serial: string): boolean;
  /** Readiness: throws while the identity is not usable (e.g. near expiry and not renewable). */
  check(): void;
  stop(): Promise<void>;
}
