import { join } from 'node:path';
import type { TProperties } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/index.js';
import type { BaseConfig } from '../config/index.js';
import { type Db, openDb, readMigrations } from '../db/index.js';
import { Catalog, ServiceClient } from '../discovery/index.js';
import { type IdentitySource, MtlsClient } from '../identity/index.js';
import { joinControlPlane } from '../identity/join.js';
import type { Discovery } from './context.js';
import type { Readiness } from './health.js';
import type { ServiceDefinition, StartOptions } from './service.js';
import type { Closers } from './shutdown.js';

/** What a service stands on: each one opened, checked by `/readyz` and closed at shutdown. */
export interface Dependencies {
  audit: AuditLog;
  db: Db | undefined;
  identity: IdentitySource | undefined;
  client: MtlsClient | undefined;
  discovery: Discovery | undefined;
}

/**
 * Opens the audit trail, the database and the workload identity, then the mTLS client
 * and discovery that the identity allows. Each is added to `closers` as it opens; when
 * one fails, whatever opened is closed again before the error is thrown.
 */
export async function openDependencies<P extends TProperties>(
  def: ServiceDefinition<P>,
  config: BaseConfig,
  opts: StartOptions,
  log: Logger,
  readiness: Readiness,
  closers: Closers,
): Promise<Dependencies> {
  const audit = await AuditLog.open(join(config.FLOTILLA_HOME, 'audit', `${def.name}.jsonl`), def.name);
  closers.add(() => audit.close());
  // The database (opened and migrated) and the identity (a CSR signed by the control
  // plane) do not depend on each other: both are waited for at once.
  const [dbResult, idResult] = await Promise.allSettled([
    openServiceDb(def, config, opts),
    opts.identity ? Promise.resolve(opts.identity) : joinControlPlane(def.name, config, log),
  ]);
  const db = dbResult.status === 'fulfilled' ? dbResult.value : undefined;
  if (db) {
    closers.add(() => db.close());
    readiness.add('database', async () => void (await db.query('SELECT 1')));
  }
  const identity = idResult.status === 'fulfilled' ? idResult.value : undefined;
  if (identity) closers.add(() => identity.stop());
  if (dbResult.status === 'rejected' || idResult.status === 'rejected') {
    await closers.run(log);
    throw dbResult.status === 'rejected' ? dbResult.reason : (idResult as PromiseRejectedResult).reason;
  }
  let client: MtlsClient | undefined;
  if (identity) {
    const id = identity;
    readiness.add('identity', () => id.check());
    client = new MtlsClient(id);
    const c = client;
    closers.add(() => c.close());
  }
  const discovery = client && identity ? startDiscovery(client, identity, config, log, closers) : undefined;
  return { audit, db, identity, client, discovery };
}

/** The catalog of the registry's instances, kept fresh by its watch stream, and the client that calls through it. */
function startDiscovery(
  client: MtlsClient,
  identity: IdentitySource,
  config: BaseConfig,
  log: Logger,
  closers: Closers,
): Discovery | undefined {
  if (!config.FLOTILLA_CONTROL_URL) return undefined;
  const catalog = new Catalog(client, config.FLOTILLA_CONTROL_URL, identity, log);
  catalog.start();
  closers.add(() => catalog.stop());
  return { catalog, services: new ServiceClient(catalog, client, { balancer: config.FLOTILLA_BALANCER }) };
}

async function openServiceDb<P extends TProperties>(
  def: ServiceDefinition<P>,
  config: BaseConfig,
  opts: StartOptions,
): Promise<Db | undefined> {
  if (!def.migrations && !def.database) return undefined;
  const migrations = !def.migrations
    ? []
    : 'dir' in def.migrations
      ? await readMigrations(
          def.migrations.dir instanceof URL ? def.migrations.dir.pathname : def.migrations.dir,
        )
      : def.migrations;
  return openDb({
    service: def.name,
    url: config.DATABASE_URL,
    home: config.FLOTILLA_HOME,
    inMemory: opts.inMemoryDb ?? false,
    hosted: config.FLOTILLA_DB === 'host',
    migrations,
  });
}
