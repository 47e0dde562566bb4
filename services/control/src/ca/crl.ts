import type { Db } from '@flotilla/kit';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { SIGNING, x509 } from '../x509.js';
import type { Authority } from './authority.js';
import { serialForAsn } from './serial.js';

export interface SignedCrl {
  caId: string;
  der: Buffer;
  /** Labelled `X509 CRL` (RFC 7468 §5): openssl refuses the bare `CRL` label. */
  pem: string;
  thisUpdate: Date;
  nextUpdate: Date;
  number: number;
}

interface RevokedRow {
  serial: string;
  revoked_at: Date;
  reason: number | null;
}

/**
 * Builds and caches one CRL per CA. Re-signed after every revocation and before
 * `nextUpdate` comes near, so a relying party never holds a stale one.
 */
export class CrlCache {
  private readonly crls = new Map<string, SignedCrl>();
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly lifetimeMs: number,
  ) {}

  get(caId: string): SignedCrl | undefined {
    return this.crls.get(caId);
  }

  /**
   * Re-signs the CRLs of `authorities` (all given when a revocation happened; stale ones
   * only otherwise) and forgets CRLs of CAs no longer given. Runs one at a time so the
   * cRLNumber increases monotonically (RFC 5280 §5.2.3).
   */
  refresh(authorities: readonly Authority[], force: boolean, now?: Date): Promise<void> {
    const run = this.pending.then(() => this.doRefresh(authorities, force, now ?? new Date()));
    this.pending = run.catch(() => undefined);
    return run;
  }

  private async doRefresh(authorities: readonly Authority[], force: boolean, now: Date): Promise<void> {
    const ids = new Set(authorities.map((a) => a.id));
    for (const id of this.crls.keys()) if (!ids.has(id)) this.crls.delete(id);
    for (const ca of authorities) {
      const current = this.crls.get(ca.id);
      const halfLife = current ? (current.nextUpdate.getTime() - current.thisUpdate.getTime()) / 2 : 0;
      if (!force && current && current.thisUpdate.getTime() + halfLife > now.getTime()) continue;
      this.crls.set(ca.id, await this.sign(ca, now));
    }
  }

  private async sign(ca: Authority, now: Date): Promise<SignedCrl> {
    // RFC 5280 §3.3: an entry may leave the CRL once the certificate has expired.
    // A root signs only intermediates, which are retired rather than revoked: its CRL is empty.
    const revoked =
      ca.kind === 'intermediate'
        ? await this.db.query<RevokedRow>(
            `SELECT serial, revoked_at, reason FROM ca_certificates
             WHERE issuer_id = $1 AND revoked_at IS NOT NULL AND not_after > $2 ORDER BY revoked_at`,
            [ca.id, now],
          )
        : { rows: [] as RevokedRow[] };
    const bumped = await this.db.query<{ crl_number: number }>(
      'UPDATE ca_authorities SET crl_number = crl_number + 1 WHERE id = $1 RETURNING crl_number',
      [ca.id],
    );
    const number = Number(bumped.rows[0]?.crl_number ?? 1);
    const nextUpdate = new Date(now.getTime() + this.lifetimeMs);
    const crl = await x509.X509CrlGenerator.create({
      issuer: ca.cert.subjectName,
      thisUpdate: now,
      nextUpdate,
      signingKey: ca.key,
      signingAlgorithm: SIGNING,
      extensions: [
        // RFC 5280 §5.2.1 and §5.2.3: conforming CRLs carry both.
        new x509.AuthorityKeyIdentifierExtension(ca.keyId),
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(number))),
      ],
      entries: revoked.rows.map((r) => ({
        serialNumber: serialForAsn(r.serial),
        revocationDate: new Date(r.revoked_at),
        ...(r.reason !== null && r.reason !== 0 ? { reason: r.reason } : {}),
      })),
    });
    const der = Buffer.from(crl.rawData);
    return {
      caId: ca.id,
      der,
      pem: `${x509.PemConverter.encode(crl.rawData, 'X509 CRL').trim()}\n`,
      thisUpdate: now,
      nextUpdate,
      number,
    };
  }
}
