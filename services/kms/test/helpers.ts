import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualIdentity, MtlsClient, type RunningService } from '@flotilla/kit';
import { KmsClient } from '@flotilla/kit/contracts';
import { policiesWithGrants, TestCa } from '@flotilla/testing';
import pg from 'pg';
import { createKmsService, type KmsInternals, kmsInternals } from '../src/index.js';

export const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');

/** The database backends to run against: always PGlite, PostgreSQL when DATABASE_URL is set. */
export function backends(): Array<{ name: string; env: Record<string, string> }> {
  const list = [{ name: 'pglite', env: {} as Record<string, string> }];
  const url = process.env.DATABASE_URL;
  if (url) list.push({ name: 'postgres', env: { DATABASE_URL: url } });
  else console.warn('DATABASE_URL is not set: the KMS tests run on PGlite only, not PostgreSQL');
  return list;
}

/**
 * Grants of the test fleet, next to the fleet's own policies: `app` uses its keys,
 * `newcomer` may decrypt under them (and never has), `stranger` has no grant at all.
 */
const TEST_GRANTS = `
@id("test-app-uses-keys")
permit (
  principal == Service::"app",
  action in [Action::"kms:Encrypt", Action::"kms:Decrypt", Action::"kms:GenerateDataKey", Action::"kms:ReEncrypt"],
  resource is Key
);
@id("test-newcomer-decrypts")
permit (principal == Service::"newcomer", action == Action::"kms:Decrypt", resource is Key);
`;

export interface KmsHarness {
  url: string;
  home: string;
  service: RunningService;
  internals: KmsInternals;
  /** Key names unique to this run (runs share a PostgreSQL database). */
  name(base: string): string;
  /** A KMS client presenting `service`'s certificate. */
  as(service: string): Promise<KmsClient>;
  /** A raw request as `service` (to see the wire: status, content type, body). */
  raw(
    service: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; type: string; json: unknown }>;
  /** Moves the service's clock forward. */
  advance(days: number): void;
  auditRecords(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/**
 * On PostgreSQL, the `kms` schema of the test database starts empty: every run seals its
 * keys under a root key of its own, and the KMS refuses to start beside keys its root key
 * does not open.
 */
async function emptyKmsSchema(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS kms CASCADE');
  } finally {
    await client.end();
  }
}

export async function startKms(env: Record<string, string> = {}): Promise<KmsHarness> {
  if (env.DATABASE_URL) await emptyKmsSchema(env.DATABASE_URL);
  const home = await mkdtemp(join(tmpdir(), 'flotilla-kms-'));
  const policies = await policiesWithGrants(home, POLICY_DIR, TEST_GRANTS);
  const ca = await TestCa.create();
  let shiftMs = 0;
  const service = await createKmsService({ now: () => new Date(Date.now() + shiftMs) }).start({
    identity: new ManualIdentity(ca.trustDomain, await ca.issue('kms')),
    inMemoryDb: true,
    env: {
      PORT: '0',
      LOG_LEVEL: 'silent',
      FLOTILLA_HOME: home,
      FLOTILLA_POLICY_DIR: policies,
      FLOTILLA_ALLOWED_CALLS: '{}',
      FLOTILLA_CLIENT_CERT: 'optional',
      FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
      ...env,
    },
  });
  const run = randomBytes(3).toString('hex');
  const clients: MtlsClient[] = [];
  return {
    url: service.url,
    home,
    service,
    internals: kmsInternals(service.ctx),
    name: (base) => `t${run}-${base}`,
    async as(name) {
      const mtls = new MtlsClient(new ManualIdentity(ca.trustDomain, await ca.issue(name)));
      clients.push(mtls);
      return new KmsClient((r) => mtls.request('kms', service.url, r));
    },
    async raw(name, method, path, body) {
      const mtls = new MtlsClient(new ManualIdentity(ca.trustDomain, await ca.issue(name)));
      clients.push(mtls);
      const res = await mtls.request('kms', service.url, {
        method,
        path,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: res.statusCode,
        type: String(res.headers['content-type']),
        json: await res.body.json(),
      };
    },
    advance(days) {
      shiftMs += days * 86_400_000;
    },
    async auditRecords() {
      const text = await readFile(join(home, 'audit', 'kms.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await service.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The error a promise is refused with (fails the test when it resolves). */
export async function refusal(
  p: Promise<unknown>,
): Promise<{ code: string; status: number; message: string }> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as { code: string; status: number; message: string },
  );
}
