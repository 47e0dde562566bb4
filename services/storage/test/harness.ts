import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManualIdentity, type RunningService } from '@flotilla/kit';
import { StorageClient, type StorageTransport } from '@flotilla/kit/contracts';
import { TestCa } from '@flotilla/testing';
import { Agent, request } from 'undici';
import { createStorage } from '../src/index.js';
import { writeBucketFiles } from './fixtures/buckets.js';

export const POLICY_DIR = resolve(import.meta.dirname, '../../../policies');

/** The database backends: PGlite always, PostgreSQL when DATABASE_URL is set. */
export function databases(): Array<{ name: string; env: Record<string, string> }> {
  const list = [{ name: 'pglite', env: {} as Record<string, string> }];
  if (process.env.DATABASE_URL)
    list.push({ name: 'postgres', env: { DATABASE_URL: process.env.DATABASE_URL } });
  else console.warn('DATABASE_URL is not set: the storage tests run on PGlite only, not PostgreSQL');
  return list;
}

export interface Harness {
  service: RunningService;
  home: string;
  ca: TestCa;
  url: string;
  /** A client presenting `service`'s certificate, optionally from another local address. */
  clientAs(service: string, opts?: { localAddress?: string }): Promise<StorageClient>;
  /** A raw undici request as `service` (for what the client does not send). */
  raw(
    service: string,
    method: string,
    path: string,
    headers?: Record<string, string>,
    body?: string | Buffer,
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
  auditRecords(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function startStorage(env: Record<string, string> = {}): Promise<Harness> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-storage-'));
  const ca = await TestCa.create();
  const bucketsFile = await writeBucketFiles(home);
  const service = await createStorage().start({
    identity: new ManualIdentity(ca.trustDomain, await ca.issue('storage')),
    inMemoryDb: true,
    env: {
      LOG_LEVEL: 'silent',
      FLOTILLA_HOME: home,
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      FLOTILLA_ALLOWED_CALLS: '{}',
      STORAGE_BUCKETS_FILE: bucketsFile,
      STORAGE_LOCAL_KEY_FILE: join(home, 'storage.key'),
      ...env,
    },
  });
  const agents: Agent[] = [];
  const agentFor = async (name: string, localAddress?: string) => {
    const material = await ca.issue(name);
    const agent = new Agent({
      connect: { ca: ca.bundle, cert: material.cert, key: material.key },
      // undici binds the client's end here (not in `connect`): the source address the policies see.
      ...(localAddress ? { localAddress } : {}),
    });
    agents.push(agent);
    return agent;
  };
  return {
    service,
    home,
    ca,
    url: service.url,
    async clientAs(name, opts = {}) {
      const agent = await agentFor(name, opts.localAddress);
      const transport: StorageTransport = (r) =>
        request(`${service.url}${r.path}`, {
          method: r.method,
          headers: r.headers,
          dispatcher: agent,
          ...(r.body !== undefined ? { body: r.body } : {}),
        });
      return new StorageClient(transport);
    },
    async raw(name, method, path, headers = {}, body) {
      // The dispatcher's own request: the path goes out as written (no URL parser resolves `..`).
      const res = await (
        await agentFor(name)
      ).request({
        origin: service.url,
        path,
        method: method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    },
    async auditRecords() {
      const text = await readFile(join(home, 'audit', 'storage.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      await service.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
