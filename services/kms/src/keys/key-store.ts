import { ConfigError, type Db, FlotillaError, type Queryable } from '@flotilla/kit';
import type { KeyMetadata } from '@flotilla/kit/contracts';
import type { RootSealer } from '../crypto/root-seal.js';

interface KeyRow {
  name: string;
  description: string;
  state: KeyMetadata['state'];
  current_version: number;
  min_decryption_version: number;
  rotation_days: number | null;
  created_at: Date | string;
  rotated_at: Date | string | null;
  deletion_date: Date | string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function toMetadata(r: KeyRow): KeyMetadata {
  return {
    name: r.name,
    state: r.state,
    description: r.description,
    currentVersion: r.current_version,
    minDecryptionVersion: r.min_decryption_version,
    rotationDays: r.rotation_days,
    createdAt: iso(r.created_at)!,
    rotatedAt: iso(r.rotated_at),
    deletionDate: iso(r.deletion_date),
  };
}

const notFound = (name: string) => new FlotillaError('FLT_NOT_FOUND', `no key ${name}`);

/**
 * Keys and their versions in the service's database. Key material is stored sealed under
 * the root key; unsealed versions are kept in memory (they never change once written).
 * Key rows are read on every use, so a disable or a deletion by another instance counts at once.
 */
export class KeyStore {
  readonly #materials = new Map<string, Buffer>();

  constructor(
    private readonly db: Db,
    private readonly sealer: RootSealer,
  ) {}

  async get(name: string): Promise<KeyMetadata | undefined> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM kms_keys WHERE name = $1', [name]);
    return rows[0] && toMetadata(rows[0]);
  }

  async require(name: string): Promise<KeyMetadata> {
    const key = await this.get(name);
    if (!key) throw notFound(name);
    return key;
  }

  async list(): Promise<KeyMetadata[]> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM kms_keys ORDER BY name');
    return rows.map(toMetadata);
  }

  /** Creates a key with its first version; undefined when the name is taken (nothing changes). */
  async create(
    o: { name: string; description?: string | undefined; rotationDays?: number | undefined },
    now: Date,
  ): Promise<KeyMetadata | undefined> {
    const first = this.sealer.newVersion(o.name, 1);
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<KeyRow>(
        `INSERT INTO kms_keys (name, description, state, current_version, rotation_days, created_at)
         VALUES ($1, $2, 'enabled', 1, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [o.name, o.description ?? '', o.rotationDays ?? null, now],
      );
      if (!rows[0]) return undefined;
      await insertVersion(tx, o.name, 1, first.sealed, now);
      return toMetadata(rows[0]);
    });
  }

  /**
   * A new current version. With `dueBefore` (automatic rotation), only if the key was
   * last rotated (or created) before it: two instances running the timer rotate once.
   */
  async rotate(name: string, now: Date, dueBefore?: Date): Promise<KeyMetadata | undefined> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<KeyRow>(
        `UPDATE kms_keys SET current_version = current_version + 1, rotated_at = $2
         WHERE name = $1 ${dueBefore ? 'AND COALESCE(rotated_at, created_at) <= $3' : ''} RETURNING *`,
        dueBefore ? [name, now, dueBefore] : [name, now],
      );
      const row = rows[0];
      if (!row) return undefined;
      const next = this.sealer.newVersion(name, row.current_version);
      await insertVersion(tx, name, row.current_version, next.sealed, now);
      return toMetadata(row);
    });
  }

  async update(
    name: string,
    set: Partial<{ state: KeyMetadata['state']; deletion_date: Date | null; min_decryption_version: number }>,
  ): Promise<KeyMetadata> {
    const cols = Object.keys(set);
    const { rows } = await this.db.query<KeyRow>(
      `UPDATE kms_keys SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE name = $1 RETURNING *`,
      [name, ...Object.values(set)],
    );
    if (!rows[0]) throw notFound(name);
    return toMetadata(rows[0]);
  }

  /** Destroys a key pending deletion and every version of it (the usage records stay); false if it no longer was. */
  async destroy(name: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      "DELETE FROM kms_keys WHERE name = $1 AND state = 'pending-deletion'",
      [name],
    );
    for (const k of this.#materials.keys()) if (k.startsWith(`${name}:`)) this.#materials.delete(k);
    return rowCount > 0;
  }

  /**
   * Whether the root key opens what is stored: one version is unsealed at start, so that a
   * changed or wrong root key stops the service instead of failing every call later.
   */
  async checkRootKey(): Promise<void> {
    const { rows } = await this.db.query<{ key_name: string; version: number; sealed: string }>(
      'SELECT key_name, version, sealed FROM kms_key_versions ORDER BY created_at LIMIT 1',
    );
    const row = rows[0];
    if (!row) return;
    try {
      this.sealer.unseal(row.key_name, row.version, row.sealed);
    } catch {
      throw new ConfigError(
        'FLOTILLA_KMS_ROOT_KEY',
        `the root key does not open the stored keys (key ${row.key_name} version ${row.version}): it is not the root key they were sealed under`,
      );
    }
  }

  /** The unsealed material of one version; undefined when there is no such version. */
  async material(name: string, version: number): Promise<Buffer | undefined> {
    const id = `${name}:${version}`;
    const cached = this.#materials.get(id);
    if (cached) return cached;
    const { rows } = await this.db.query<{ sealed: string }>(
      'SELECT sealed FROM kms_key_versions WHERE key_name = $1 AND version = $2',
      [name, version],
    );
    if (!rows[0]) return undefined;
    const material = this.sealer.unseal(name, version, rows[0].sealed);
    this.#materials.set(id, material);
    return material;
  }
}

async function insertVersion(tx: Queryable, name: string, version: number, sealed: string, now: Date) {
  await tx.query(
    'INSERT INTO kms_key_versions (key_name, version, sealed, created_at) VALUES ($1, $2, $3, $4)',
    [name, version, sealed, now],
  );
}
