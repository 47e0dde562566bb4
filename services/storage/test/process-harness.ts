import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageClient } from '@flotilla/kit/contracts';
import { type ServiceProcess, spawnService, TestCa } from '@flotilla/testing';
import { Agent, request } from 'undici';
import { writeBucketFiles } from './fixtures/buckets.js';
import { POLICY_DIR } from './harness.js';

const MAIN = join(import.meta.dirname, 'fixtures', 'storage-main.ts');

/** A storage process on a home that outlives it (restarts see the same disk and PGlite). */
export interface StorageProcesses {
  home: string;
  start(): Promise<ServiceProcess>;
  client(proc: ServiceProcess): Promise<StorageClient>;
  close(): Promise<void>;
}

export async function storageProcesses(env: Record<string, string> = {}): Promise<StorageProcesses> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-storage-proc-'));
  const ca = await TestCa.create();
  const identityFile = join(home, 'identity.json');
  await writeFile(
    identityFile,
    JSON.stringify({ ...(await ca.issue('storage')), trustDomain: ca.trustDomain }),
    {
      mode: 0o600,
    },
  );
  const bucketsFile = await writeBucketFiles(home);
  const agents: Agent[] = [];
  const running: ServiceProcess[] = [];
  return {
    home,
    async start() {
      const proc = await spawnService(MAIN, {
        LOG_LEVEL: 'warn',
        FLOTILLA_HOME: home,
        FLOTILLA_POLICY_DIR: POLICY_DIR,
        FLOTILLA_ALLOWED_CALLS: '{}',
        STORAGE_BUCKETS_FILE: bucketsFile,
        STORAGE_LOCAL_KEY_FILE: join(home, 'storage.key'),
        STORAGE_TEST_IDENTITY_FILE: identityFile,
        ...env,
      });
      running.push(proc);
      return proc;
    },
    async client(proc) {
      const material = await ca.issue('app');
      const agent = new Agent({ connect: { ca: ca.bundle, cert: material.cert, key: material.key } });
      agents.push(agent);
      return new StorageClient((r) =>
        request(`${proc.url}${r.path}`, {
          method: r.method,
          headers: r.headers,
          dispatcher: agent,
          ...(r.body !== undefined ? { body: r.body } : {}),
        }),
      );
    },
    async close() {
      await Promise.all(agents.map((a) => a.destroy()));
      await Promise.all(running.map((p) => p.kill('SIGKILL')));
      await rm(home, { recursive: true, force: true });
    },
  };
}
