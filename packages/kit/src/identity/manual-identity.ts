import { normaliseSerial } from './spiffe.js';
import type { IdentitySource, TlsMaterial } from './tls-material.js';

/**
 * An identity whose material and revocations are set by its owner: the control plane
 * (which is its own CA) and tests use it; `WorkloadIdentity` builds on it.
 *
 * @example
 * const identity = new ManualIdentity('flotilla.local', material);
 * await service.start({ identity });
 * identity.update(renewedMaterial); // the server and clients swap to it live
 */
export class ManualIdentity implements IdentitySource {
  private material: TlsMaterial;
  private revoked = new Set<string>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();
  private readonly revocationListeners = new Set<() => void>();

  constructor(
    readonly trustDomain: string,
    material: TlsMaterial,
  ) {
    this.material = material;
  }

  current(): TlsMaterial {
    return this.material;
  }

  update(material: TlsMaterial): void {
    this.material = material;
    for (const listener of this.changeListeners) listener(material);
  }

  /** Replaces the revoked set; listeners hear of it only when it actually changed. */
  setRevoked(serials: Iterable<string>): void {
    const next = new Set([...serials].map(normaliseSerial));
    const same = next.size === this.revoked.size && [...next].every((s) => this.revoked.has(s));
    this.revoked = next;
    if (!same) for (const listener of this.revocationListeners) listener();
  }

  isRevoked(serial: string): boolean {
    return this.revoked.has(normaliseSerial(serial));
  }

  onChange(listener: (m: TlsMaterial) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onRevocation(listener: () => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  check(): void {
    if (Date.now() >= this.material.notAfter.getTime()) throw new Error('certificate has expired');
  }

  async stop(): Promise<void> {
    this.changeListeners.clear();
    this.revocationListeners.clear();
  }
}
