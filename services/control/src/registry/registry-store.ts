import type { Db, Instance, Migration } from '@flotilla/kit';
import type { Registry, RegistryEvent } from './registry.js';

export const registryMigrations: Migration[] = [
  {
    id: '100_registry_instances',
    sql: `CREATE TABLE registry_instances (
      id text PRIMARY KEY,
      service text NOT NULL,
      address text NOT NULL,
      port integer NOT NULL,
      version text,
      metadata jsonb,
      registered_at timestamptz NOT NULL
    )`,
  },
];

/**
 * Keeps a snapshot of the registry in the control plane's database, so a restarted
 * control plane knows the fleet at once (instances also re-register on their own).
 */
export class RegistryStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Db) {}

  async load(registry: Registry): Promise<number> {
    const { rows } = await this.db.query<{
      id: string;
      service: string;
      address: string;
      port: number;
      version: string | null;
      metadata: Record<string, string> | null;
      registered_at: Date;
    }>('SELECT id, service, address, port, version, metadata, registered_at FROM registry_instances');
    for (const r of rows) {
      registry.restore({
        id: r.id,
        service: r.service,
        address: r.address,
        port: r.port,
        ...(r.version ? { version: r.version } : {}),
        ...(r.metadata ? { metadata: r.metadata } : {}),
        registeredAt: r.registered_at.toISOString(),
      });
    }
    return rows.length;
  }

  /** Writes each change in order; a failed write is reported, the in-memory registry stays right. */
  follow(registry: Registry, onError: (err: unknown) => void): void {
    registry.on('change', (event) => {
      this.queue = this.queue.then(() => this.apply(event, registry)).catch(onError);
    });
  }

  flush(): Promise<unknown> {
    return this.queue;
  }

  private async apply(event: RegistryEvent, registry: Registry): Promise<void> {
    if (event.type === 'down') {
      await this.db.query('DELETE FROM registry_instances WHERE id = $1', [event.id]);
      return;
    }
    const i: Instance = event.instance;
    const registeredAt = registry.get(i.id)?.registeredAt ?? new Date().toISOString();
    await this.db.query(
      `INSERT INTO registry_instances (id, service, address, port, version, metadata, registered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [
        i.id,
        i.service,
        i.address,
        i.port,
        i.version ?? null,
        i.metadata ? JSON.stringify(i.metadata) : null,
        registeredAt,
      ],
    );
  }
}
