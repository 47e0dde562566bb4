import { createPrivateKey, KeyObject } from 'node:crypto';
import { type Db, FlotillaError, type Queryable } from '@flotilla/kit';
import { EC_P256, pemOf, subtle, x509 } from '../x509.js';
import type { Authority, AuthorityKind } from './authority.js';
import { createIntermediate, createRoot, keyIdOf, type NewCa } from './ca-certs.js';
import { openKey, sealKey } from './key-encryption.js';

interface AuthorityRow {
  id: string;
  kind: AuthorityKind;
  parent_id: string | null;
  cert_pem: string;
  key_iv: string;
  key_tag: string;
  key_ct: string;
  not_after: Date;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
}

export interface TrustBundle {
  /** Increases on every change of `roots` or `intermediates`. */
  version: number;
  roots: string[];
  intermediates: string[];
}

// An intermediate this close to its end is replaced by a new one automatically.
const INTERMEDIATE_RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * The CAs of the control plane: created on first start, rotated on demand, retired once
 * nothing chains to them. Keys live sealed in the database and decrypted in memory.
 */
export class CaStore {
  private authorities: Authority[] = [];
  private version = 0;

  private constructor(
    private readonly db: Db,
    private readonly kek: Buffer,
    private readonly trustDomain: string,
    private readonly rootActivationMs: number,
  ) {}

  /** Loads the CAs (creating a root and an intermediate on first start). A wrong KEK throws KekError. */
  static async open(db: Db, kek: Buffer, trustDomain: string, rootActivationMs: number): Promise<CaStore> {
    const store = new CaStore(db, kek, trustDomain, rootActivationMs);
    await store.reload();
    if (!store.authorities.some((a) => a.kind === 'root')) {
      await store.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM ca_authorities');
        if ((rows[0]?.n ?? 0) > 0) return; // another process won the race
        const now = new Date();
        const root = await createRoot(trustDomain, now);
        await store.insert(tx, root, null, now);
        const rootAuthority = {
          cert: root.cert,
          key: root.keys.privateKey,
          keyId: keyIdOf(root.cert),
          notAfter: root.cert.notAfter,
        };
        await store.insert(tx, await createIntermediate(rootAuthority, trustDomain, now), root.id, now);
      });
      await store.reload();
    }
    return store;
  }

  /** Every CA not yet retired (roots and intermediates). */
  all(): readonly Authority[] {
    return this.authorities;
  }

  get(id: string): Authority | undefined {
    return this.authorities.find((a) => a.id === id);
  }

  /** The intermediate that signs new certificates now: the newest activated one. */
  issuer(now = new Date()): Authority {
    const active = this.authorities
      .filter((a) => a.kind === 'intermediate' && a.activatesAt <= now && a.notAfter > now)
      .sort(
        (a, b) =>
          b.activatesAt.getTime() - a.activatesAt.getTime() || b.createdAt.getTime() - a.createdAt.getTime(),
      );
    const issuer = active[0];
    if (!issuer) throw new FlotillaError('FLT_INTERNAL', 'no active intermediate CA');
    return issuer;
  }

  /** The roots a chain from `issuer` ends in. */
  rootOf(authority: Authority): Authority | undefined {
    return authority.parentId ? this.get(authority.parentId) : authority;
  }

  bundle(): TrustBundle {
    const pems = (kind: AuthorityKind) => this.authorities.filter((a) => a.kind === kind).map((a) => a.pem);
    return { version: this.version, roots: pems('root'), intermediates: pems('intermediate') };
  }

  /**
   * Intermediate: a new intermediate under the newest root signs from now on; the old one
   * stays published until its last leaf expires. Root: a new root is published at once,
   * with an intermediate under it that signs only after `rootActivationMs`, so peers
   * fetch the new bundle before anything chains to the new root.
   */
  async rotate(which: AuthorityKind, now = new Date()): Promise<{ created: string[] }> {
    const created: string[] = [];
    await this.db.transaction(async (tx) => {
      let parent = this.newestRoot();
      let activatesAt = new Date(Math.max(now.getTime(), parent.activatesAt.getTime()));
      if (which === 'root') {
        const root = await createRoot(this.trustDomain, now);
        activatesAt = new Date(now.getTime() + this.rootActivationMs);
        await this.insert(tx, root, null, now, activatesAt);
        created.push(root.id);
        parent = this.toAuthority(root, null, now, activatesAt);
      }
      const int = await createIntermediate(parent, this.trustDomain, now);
      await this.insert(tx, int, parent.id, now, activatesAt);
      created.push(int.id);
    });
    await this.reload();
    return { created };
  }

  /**
   * Retires CAs nothing chains to any more and renews an intermediate near its end.
   * Returns true when the bundle changed.
   */
  async sweep(now = new Date()): Promise<boolean> {
    const current = this.issuer(now);
    if (current.notAfter.getTime() - now.getTime() < INTERMEDIATE_RENEW_BEFORE_MS) {
      await this.rotate('intermediate', now);
      return true;
    }
    const { rows } = await this.db.query<{ issuer_id: string }>(
      'SELECT DISTINCT issuer_id FROM ca_certificates WHERE not_after > $1',
      [now],
    );
    const inUse = new Set(rows.map((r) => r.issuer_id));
    const keep = new Set<string>();
    for (const a of this.authorities) {
      if (a.kind !== 'intermediate') continue;
      if (a === current || a.activatesAt > now || (inUse.has(a.id) && a.notAfter > now)) keep.add(a.id);
    }
    const newestRoot = this.newestRoot();
    for (const a of this.authorities) {
      if (a.kind !== 'root') continue;
      const chainedTo = this.authorities.some((i) => keep.has(i.id) && i.parentId === a.id);
      if (a === newestRoot || (chainedTo && a.notAfter > now)) keep.add(a.id);
    }
    const retire = this.authorities.filter((a) => !keep.has(a.id)).map((a) => a.id);
    if (retire.length === 0) return false;
    await this.db.transaction(async (tx) => {
      for (const id of retire) {
        await tx.query('UPDATE ca_authorities SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL', [
          id,
          now,
        ]);
      }
      await tx.query('UPDATE ca_state SET bundle_version = bundle_version + 1 WHERE id = 1');
    });
    await this.reload();
    return true;
  }

  private newestRoot(): Authority {
    const roots = this.authorities
      .filter((a) => a.kind === 'root')
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const root = roots[0];
    if (!root) throw new FlotillaError('FLT_INTERNAL', 'no root CA');
    return root;
  }

  private async insert(
    tx: Queryable,
    ca: NewCa,
    parentId: string | null,
    now: Date,
    activatesAt = now,
  ): Promise<void> {
    const sealed = sealKey(this.kek, ca.id, ca.pkcs8);
    await tx.query(
      `INSERT INTO ca_authorities (id, kind, parent_id, cert_pem, key_iv, key_tag, key_ct, not_after, created_at, activates_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        ca.id,
        ca.kind,
        parentId,
        pemOf(ca.cert),
        sealed.iv,
        sealed.tag,
        sealed.ct,
        ca.cert.notAfter,
        now,
        activatesAt,
      ],
    );
    await tx.query('UPDATE ca_state SET bundle_version = bundle_version + 1 WHERE id = 1');
  }

  private toAuthority(ca: NewCa, parentId: string | null, now: Date, activatesAt: Date): Authority {
    return {
      id: ca.id,
      kind: ca.kind,
      parentId,
      cert: ca.cert,
      pem: pemOf(ca.cert),
      key: ca.keys.privateKey,
      // Extractable when new (it was just sealed), so KeyObject.from takes it as it is.
      signingKey: KeyObject.from(ca.keys.privateKey),
      keyId: keyIdOf(ca.cert),
      notAfter: ca.cert.notAfter,
      createdAt: now,
      activatesAt,
      retiredAt: null,
    };
  }

  private async reload(): Promise<void> {
    const { rows } = await this.db.query<AuthorityRow>(
      'SELECT * FROM ca_authorities WHERE retired_at IS NULL ORDER BY created_at, id',
    );
    const loaded: Authority[] = [];
    for (const row of rows) {
      const pkcs8 = openKey(this.kek, row.id, { iv: row.key_iv, tag: row.key_tag, ct: row.key_ct });
      const signingKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      // Not extractable once loaded: the only copy that leaves memory is the sealed one.
      const key = await subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
      pkcs8.fill(0);
      const cert = new x509.X509Certificate(row.cert_pem);
      loaded.push({
        id: row.id,
        kind: row.kind,
        parentId: row.parent_id,
        cert,
        pem: pemOf(cert),
        key,
        signingKey,
        keyId: keyIdOf(cert),
        notAfter: new Date(row.not_after),
        createdAt: new Date(row.created_at),
        activatesAt: new Date(row.activates_at),
        retiredAt: null,
      });
    }
    const state = await this.db.query<{ bundle_version: number }>(
      'SELECT bundle_version FROM ca_state WHERE id = 1',
    );
    this.authorities = loaded;
    this.version = Number(state.rows[0]?.bundle_version ?? 0);
  }
}
