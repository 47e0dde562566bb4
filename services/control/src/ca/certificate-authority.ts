import { availableParallelism } from 'node:os';
import { type Db, normaliseSerial } from '@flotilla/kit';
import type { IssuedCertificate } from '@flotilla/kit/contracts';
import { hashToken, voidJoinTokens } from './join-tokens.js';
import type { CaMetrics } from '../metrics.js';
import { type CryptoKey, x509 } from '../x509.js';
import type { Authority, AuthorityKind } from './authority.js';
import type { CaStore, TrustBundle } from './ca-store.js';
import type { CrlCache } from './crl.js';
import { checkCsr, CsrError, parseCsr } from './csr-check.js';
import { type IssuedLeaf, type LeafRequest, signLeaf, signLeafSync } from './issue.js';
import { IssuanceStore } from './issuance-store.js';
import { serviceOfSpiffeId } from './names.js';
import { SigningPool } from './signing-pool.js';
import type { CertState } from './ocsp.js';
import { Refusal } from './refusal.js';

export interface CaSettings {
  trustDomain: string;
  ttlSeconds: number;
  publicUrl: string;
  /**
   * Worker threads that check CSRs and sign (0: on the main thread). Default: one fewer
   * than the CPUs, at most 2, so the event loop keeps a core for TLS, database and audit.
   */
  signingWorkers?: number;
}

interface CertRow {
  serial: string;
  service: string;
  issuer_id: string;
  cert_pem: string;
  not_after: Date;
  revoked_at: Date | null;
  reason: number | null;
}

/** The certificate authority: issue, renew, revoke, and the status that CRLs and OCSP serve. */
export class CertificateAuthority {
  readonly #issuance: IssuanceStore;
  readonly #pool: SigningPool | undefined;
  readonly #revokeListeners = new Set<(serials: string[]) => Promise<void>>();

  constructor(
    private readonly db: Db,
    readonly store: CaStore,
    readonly crls: CrlCache,
    private readonly metrics: CaMetrics,
    readonly settings: CaSettings,
  ) {
    this.#issuance = new IssuanceStore(db);
    const workers = settings.signingWorkers ?? Math.min(2, availableParallelism() - 1);
    this.#pool = workers > 0 ? new SigningPool(workers) : undefined;
  }

  /** Worker threads that sign (0: signing runs on the event loop). */
  get signingWorkers(): number {
    return this.#pool?.size ?? 0;
  }

  /**
   * Hears every revocation once it is stored; `revoke` returns only after its listeners
   * have finished (each handles its own failure). Returns the way to stop listening.
   */
  onRevoke(listener: (serials: string[]) => Promise<void>): () => void {
    this.#revokeListeners.add(listener);
    return () => this.#revokeListeners.delete(listener);
  }

  /** Stops the signing workers (requests still in them fail). */
  async close(): Promise<void> {
    await this.#pool?.close();
  }

  /** Loads the newest expiry per service for the gauge (after a restart). */
  async loadExpiryGauge(): Promise<void> {
    const { rows } = await this.db.query<{ service: string; not_after: Date }>(
      `SELECT service, max(not_after) AS not_after FROM ca_certificates
       WHERE revoked_at IS NULL GROUP BY service`,
    );
    for (const r of rows) this.metrics.newestExpiry.set(r.service, new Date(r.not_after));
  }

  /** Bootstrap: a CSR plus a join token for the same service name. */
  async issueWithToken(csrPem: string, token: string): Promise<IssuedCertificate> {
    const now = new Date();
    const peek = await this.#issuance.peek(token, now);
    if ('problem' in peek)
      throw new Refusal('FLT_JOIN_TOKEN_INVALID', peek.problem, tokenMessage(peek.problem), peek.service);
    const leaf = await this.signChecked(csrPem, peek.service, now);
    // The token is used up atomically with storing the certificate: of concurrent requests
    // with one token, one wins.
    await this.record(leaf, peek.service, { hash: hashToken(token), now });
    this.metrics.issued.inc();
    return this.response(leaf);
  }

  /** Renewal: authenticated by the caller's current certificate, for the same identity only. */
  async renew(csrPem: string, peer: x509.X509Certificate | undefined): Promise<IssuedCertificate> {
    const now = new Date();
    const current = await this.currentCertificate(peer, now);
    const leaf = await this.signChecked(csrPem, current.service, now);
    await this.record(leaf, current.service);
    this.metrics.renewed.inc();
    return this.response(leaf);
  }

  /**
   * Signs for a service without a token: the control plane's own identity, and the
   * benchmark. Not reachable over HTTP.
   */
  async issueDirect(service: string, publicKey: CryptoKey | x509.PublicKey): Promise<IssuedCertificate> {
    const leaf = await this.sign(publicKey, service, new Date());
    await this.record(leaf, service);
    return this.response(leaf);
  }

  /** Checks a CSR for `service` and signs it, without storing anything (benchmark). */
  async signCsr(csrPem: string, service: string): Promise<IssuedLeaf> {
    return this.signChecked(csrPem, service, new Date());
  }

  /** The identity a verified client certificate proves: ours, current and not revoked. */
  async currentCertificate(peer: x509.X509Certificate | undefined, now = new Date()): Promise<CertRow> {
    if (!peer)
      throw new Refusal(
        'FLT_UNAUTHENTICATED',
        'no_client_cert',
        'renewal requires the current client certificate (mTLS)',
      );
    const row = await this.findCertificate(normaliseSerial(peer.serialNumber));
    // Same serial is not enough: the exact certificate must be one we issued.
    if (
      !row ||
      !Buffer.from(new x509.X509Certificate(row.cert_pem).rawData).equals(Buffer.from(peer.rawData))
    ) {
      throw new Refusal(
        'FLT_UNAUTHENTICATED',
        'cert_unknown',
        'the client certificate was not issued by this control plane',
      );
    }
    if (row.revoked_at)
      throw new Refusal(
        'FLT_UNAUTHENTICATED',
        'cert_revoked',
        `certificate ${row.serial} is revoked`,
        row.service,
      );
    if (new Date(row.not_after) <= now) {
      throw new Refusal(
        'FLT_UNAUTHENTICATED',
        'cert_expired',
        `certificate ${row.serial} has expired`,
        row.service,
      );
    }
    if (serviceOfSpiffeId(this.settings.trustDomain, spiffeIdOf(peer) ?? '') !== row.service) {
      throw new Refusal(
        'FLT_UNAUTHENTICATED',
        'cert_unknown',
        'the client certificate names no service of this trust domain',
      );
    }
    return row;
  }

  /** Revokes one certificate, or every unexpired one of a service. Returns the serials revoked. */
  async revoke(target: { serial: string } | { service: string }, reason: number | null): Promise<string[]> {
    const now = new Date();
    const revoked = await this.db.transaction(async (tx) => {
      if ('serial' in target) {
        const serial = normaliseSerial(target.serial);
        const { rows } = await tx.query<{ serial: string; service: string }>(
          `UPDATE ca_certificates SET revoked_at = COALESCE(revoked_at, $2), reason = COALESCE(reason, $3)
           WHERE serial = $1 RETURNING serial, service`,
          [serial, now, reason],
        );
        if (rows.length === 0)
          throw new Refusal('FLT_NOT_FOUND', 'unknown_serial', `no certificate with serial ${serial}`);
        return rows;
      }
      await voidJoinTokens(tx, target.service, now);
      const { rows } = await tx.query<{ serial: string; service: string }>(
        `UPDATE ca_certificates SET revoked_at = $2, reason = $3
         WHERE service = $1 AND revoked_at IS NULL AND not_after > $2 RETURNING serial, service`,
        [target.service, now, reason],
      );
      return rows;
    });
    // RFC 5280 §5: the CRL is re-signed at once, so the revocation is visible immediately.
    await this.crls.refresh(this.store.all(), true, now);
    for (const service of new Set(revoked.map((r) => r.service))) await this.refreshGauge(service);
    this.metrics.revoked.inc(revoked.length);
    const serials = revoked.map((r) => r.serial).sort();
    if (serials.length > 0) await Promise.allSettled([...this.#revokeListeners].map((l) => l(serials)));
    return serials;
  }

  /** Status of a serial under one of our CAs (OCSP). */
  async status(issuer: Authority, serial: string): Promise<CertState> {
    if (issuer.kind === 'root') {
      const child = this.store
        .all()
        .find((a) => a.parentId === issuer.id && normaliseSerial(a.cert.serialNumber) === serial);
      return child ? { status: 'good' } : { status: 'unknown' };
    }
    const row = await this.findCertificate(serial);
    if (!row || row.issuer_id !== issuer.id) return { status: 'unknown' };
    return row.revoked_at
      ? { status: 'revoked', at: new Date(row.revoked_at), reason: row.reason }
      : { status: 'good' };
  }

  bundle(): TrustBundle {
    return this.store.bundle();
  }

  async rotate(which: AuthorityKind): Promise<{ created: string[]; bundle: TrustBundle }> {
    const { created } = await this.store.rotate(which);
    await this.crls.refresh(this.store.all(), false);
    return { created, bundle: this.store.bundle() };
  }

  /** Periodic work: retire unused CAs, keep every CRL fresh. */
  async tick(): Promise<void> {
    await this.store.sweep();
    await this.crls.refresh(this.store.all(), false);
  }

  /** Serials of revoked certificates that have not yet expired. */
  async revokedSerials(): Promise<string[]> {
    const { rows } = await this.db.query<{ serial: string }>(
      'SELECT serial FROM ca_certificates WHERE revoked_at IS NOT NULL AND not_after > now()',
    );
    return rows.map((r) => r.serial);
  }

  async countCertificates(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ca_certificates');
    return Number(rows[0]?.n ?? 0);
  }

  /** Parses the CSR once, checks it for `service` and signs the leaf (in a worker when there are). */
  private async signChecked(csrPem: string, service: string, now: Date): Promise<IssuedLeaf> {
    try {
      if (this.#pool?.usable) {
        const { trustDomain, ttlSeconds, publicUrl } = this.settings;
        const issuer = this.store.issuer(now);
        return await this.#pool.sign({ csrPem, service, trustDomain, ttlSeconds, publicUrl, now, issuer });
      }
      const checked = checkCsr(parseCsr(csrPem), service, this.settings.trustDomain);
      return signLeafSync(this.leafRequest(checked.spki, service, now), checked.spki);
    } catch (err) {
      if (err instanceof CsrError) {
        throw new Refusal(err.code, `csr_${err.reason}`, err.message, service);
      }
      throw err;
    }
  }

  private sign(publicKey: CryptoKey | x509.PublicKey, service: string, now: Date): Promise<IssuedLeaf> {
    return signLeaf(this.leafRequest(publicKey, service, now));
  }

  private leafRequest(publicKey: LeafRequest['publicKey'], service: string, now: Date): LeafRequest {
    return {
      publicKey,
      service,
      trustDomain: this.settings.trustDomain,
      issuer: this.store.issuer(now),
      ttlSeconds: this.settings.ttlSeconds,
      publicUrl: this.settings.publicUrl,
      now,
    };
  }

  /** Stores what was issued (group commit); resolves once it is committed. */
  private async record(
    leaf: IssuedLeaf,
    service: string,
    token?: { hash: string; now: Date },
  ): Promise<void> {
    if (!(await this.#issuance.record({ leaf, service, ...(token ? { token } : {}) }))) {
      throw new Refusal('FLT_JOIN_TOKEN_INVALID', 'token_used', tokenMessage('token_used'), service);
    }
    const newest = this.metrics.newestExpiry.get(service);
    if (!newest || newest < leaf.notAfter) this.metrics.newestExpiry.set(service, leaf.notAfter);
  }

  private response(leaf: IssuedLeaf): IssuedCertificate {
    const issuer = this.store.get(leaf.issuerId);
    const bundle = this.store.bundle();
    return {
      certificate: leaf.pem,
      chain: issuer ? [issuer.pem] : [],
      bundle: bundle.roots,
      serial: leaf.serial,
      spiffeId: leaf.spiffeId,
      notAfter: leaf.notAfter.toISOString(),
    };
  }

  private async findCertificate(serial: string): Promise<CertRow | undefined> {
    const { rows } = await this.db.query<CertRow>(
      'SELECT serial, service, issuer_id, cert_pem, not_after, revoked_at, reason FROM ca_certificates WHERE serial = $1',
      [serial],
    );
    return rows[0];
  }

  private async refreshGauge(service: string): Promise<void> {
    const { rows } = await this.db.query<{ not_after: Date | null }>(
      'SELECT max(not_after) AS not_after FROM ca_certificates WHERE service = $1 AND revoked_at IS NULL',
      [service],
    );
    const newest = rows[0]?.not_after;
    if (newest) this.metrics.newestExpiry.set(service, new Date(newest));
    else this.metrics.newestExpiry.delete(service);
  }
}

function tokenMessage(problem: string): string {
  switch (problem) {
    case 'token_malformed':
      return 'join token is malformed';
    case 'token_unknown':
      return 'join token is not valid';
    case 'token_used':
      return 'join token has already been used';
    default:
      return 'join token has expired';
  }
}

export function spiffeIdOf(cert: x509.X509Certificate): string | undefined {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
  // X.509-SVID §2: exactly one URI SAN.
  return uris.length === 1 ? uris[0] : undefined;
}
