// Storage against the real KMS, in a fleet: a control plane, the KMS and the storage
// service joined to it (no STORAGE_LOCAL_KEY_FILE, so data keys come from the KMS), and a
// service `app` that reaches storage as `ctx.storage` (discovery, mTLS, Cedar on the bucket).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineService, FlotillaError, type RunningService } from '@flotilla/kit';
import { type RunningControl, startControl } from '@flotilla/control';
import { createKmsService } from '@flotilla/kms';
import { fleetJoiner, policiesWithGrants } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, decodeHeader, storageInternals } from '../src/index.js';
import { POLICY_DIR } from './harness.js';

// The fleet's policies already let Service::"storage" use Key::"storage" (iam-storage-kms)
// and Key::"videos" (iam-storage-kms-videos), and Service::"operator" administer keys
// (kms-operator-admin); the test adds `app`'s buckets.
const GRANTS = ['media', 'vault', 'videos']
  .map(
    (bucket) => `
@id("test-app-objects-${bucket}")
permit (
  principal == Service::"app",
  action in [Action::"storage:GetObject", Action::"storage:PutObject", Action::"storage:ListBucket", Action::"storage:DeleteObject"],
  resource in Bucket::"${bucket}"
);
`,
  )
  .join('');
const SPIFFE = 'spiffe://flotilla.local/svc';

let home: string;
let control: RunningControl;
let kms: RunningService;
let storage: RunningService;
let app: RunningService;
let operator: RunningService;
/** The environment of a service joining the fleet as `service`. */
let joined: (service: string) => Promise<Record<string, string>>;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flotilla-storage-kms-'));
  const policies = await policiesWithGrants(home, POLICY_DIR, GRANTS);
  await writeFile(join(home, 'keys.json'), JSON.stringify([{ name: 'storage' }, { name: 'videos' }]));
  // `videos` has its own key, as in flotilla.yaml (buckets[].key).
  await writeFile(
    join(home, 'buckets.json'),
    JSON.stringify([{ name: 'media' }, { name: 'vault' }, { name: 'videos', key: 'videos' }]),
  );
  control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  joined = fleetJoiner(control, { home, policies }, { FLOTILLA_DEREGISTER_DELAY_MS: '0' });
  kms = await createKmsService().start({
    env: {
      ...(await joined('kms')),
      FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
      KMS_KEYS_FILE: join(home, 'keys.json'),
    },
    inMemoryDb: true,
  });
  storage = await createStorage().start({
    env: { ...(await joined('storage')), STORAGE_BUCKETS_FILE: join(home, 'buckets.json') },
    inMemoryDb: true,
  });
  app = await defineService({ name: 'app', routes() {} }).start({ env: await joined('app') });
  operator = await defineService({ name: 'operator', routes() {} }).start({
    env: await joined('operator'),
  });
});
afterAll(async () => {
  await operator?.stop();
  await app?.stop();
  await storage?.stop();
  await kms?.stop();
  await control?.stop();
  await rm(home, { recursive: true, force: true });
});

/** The sealed data key in the header of the stored blob of `bucket/key`. */
async function sealedKeyOf(bucket: string, key: string): Promise<string> {
  const { store, backend } = storageInternals(storage.ctx);
  const row = await store.find(bucket, key);
  const parts: Buffer[] = [];
  for await (const chunk of backend.read(row.versionId, 0, row.headerLen)) parts.push(Buffer.from(chunk));
  return decodeHeader(Buffer.concat(parts)).sealedKey;
}

async function blobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const name of storageInternals(storage.ctx).backend.names()) names.push(name);
  return names.sort();
}

/** The error a promise is refused with (fails the test when it resolves). */
async function refusal(p: Promise<unknown>): Promise<FlotillaError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as FlotillaError,
  );
}

describe('storage with data keys from the KMS', () => {
  const data = randomBytes(300 * 1024); // five 64 KiB segments, the last one partial

  it('round-trips a multi-segment object through ctx.storage, whole and by range', async () => {
    const put = await app.ctx.storage.put('media', 'clips/a.bin', data);
    expect(put).toMatchObject({ bucket: 'media', key: 'clips/a.bin', size: data.length });
    const whole = await app.ctx.storage.get('media', 'clips/a.bin');
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.body.arrayBuffer()).equals(data)).toBe(true);
    // Across the boundary of the first two segments and into the fourth.
    const range = await app.ctx.storage.get('media', 'clips/a.bin', {
      range: { start: 65_000, end: 200_000 },
    });
    expect(range.status).toBe(206);
    expect(range.contentRange).toBe(`bytes 65000-200000/${data.length}`);
    expect(Buffer.from(await range.body.arrayBuffer()).equals(data.subarray(65_000, 200_001))).toBe(true);
  });

  it("shows storage's use of the key in the KMS's usage records, with the bucket as context", async () => {
    const records = await operator.ctx.kms.usage('storage', { limit: 1000 });
    const byStorage = records.filter((r) => r.caller === `${SPIFFE}/storage`);
    // So far one put and two reads of it. Data keys come in batches (the bucket's pool):
    // one call; the reads opened the object's data key once (the decrypt cache).
    expect(byStorage).toEqual([
      expect.objectContaining({
        key: 'storage',
        keyVersion: 1,
        operation: 'Decrypt',
        context: { bucket: 'media' },
        outcome: 'success',
      }),
      expect.objectContaining({
        key: 'storage',
        keyVersion: 1,
        operation: 'GenerateDataKeys',
        context: { bucket: 'media' },
        outcome: 'success',
      }),
    ]);
    // Nobody else generated data keys under it.
    expect(
      records
        .filter((r) => r.operation.startsWith('GenerateDataKey'))
        .every((r) => r.caller === `${SPIFFE}/storage`),
    ).toBe(true);
  });

  it('seals each object under its own data key from Key::"storage", bound to the bucket', async () => {
    await app.ctx.storage.put('media', 'clips/b.bin', 'another object');
    const a = await sealedKeyOf('media', 'clips/a.bin');
    const b = await sealedKeyOf('media', 'clips/b.bin');
    // A KMS ciphertext names its key and version: kms:v1:<key>:<version>:…
    expect(a).toMatch(/^kms:v1:storage:1:[A-Za-z0-9_-]+$/);
    expect(b).toMatch(/^kms:v1:storage:1:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    // Opened as storage, under the bucket's context: two different keys. Another context fails.
    const [keyA, keyB] = await Promise.all([
      storage.ctx.kms.decrypt(a, { bucket: 'media' }),
      storage.ctx.kms.decrypt(b, { bucket: 'media' }),
    ]);
    expect(keyA).toHaveLength(32);
    expect(keyA.equals(keyB)).toBe(false);
    expect(await refusal(storage.ctx.kms.decrypt(a, { bucket: 'vault' }))).toMatchObject({
      code: 'FLT_KMS_CIPHERTEXT_INVALID',
    });
  });

  it('refuses a put as its own failure when the KMS key is disabled, and keeps nothing of it', async () => {
    const blobsBefore = await blobNames();
    expect(blobsBefore).toHaveLength(2);
    await operator.ctx.kms.disableKey('storage');
    try {
      // `vault` has no data keys pooled yet: its first put asks the KMS, which refuses.
      const err = await refusal(app.ctx.storage.put('vault', 'secret.txt', 'never stored'));
      expect(err).toBeInstanceOf(FlotillaError);
      // Storage's failure, not the caller's: 502 (a 5xx says no more than its title).
      expect(err).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', status: 502 });
      // On the wire: problem+json from storage.
      const raw = await app.ctx.call('storage', {
        method: 'PUT',
        path: '/v1/buckets/vault/objects/raw.txt',
        headers: { 'content-type': 'text/plain' },
        body: 'never stored either',
      });
      expect(raw.statusCode).toBe(502);
      expect(raw.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await raw.body.json()).toMatchObject({ status: 502, code: 'FLT_UPSTREAM_FAILED' });
      expect((await app.ctx.storage.list('vault')).objects).toEqual([]);
      expect(await blobNames()).toEqual(blobsBefore);
      // Storage audits its own failure (the KMS audits the refusal on its side).
      const audit = (await readFile(join(home, 'audit', 'storage.jsonl'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(audit).toContainEqual(
        expect.objectContaining({
          actor: `${SPIFFE}/app`,
          outcome: 'failure',
          reason: expect.stringContaining(
            'storage could not obtain a new data key from the KMS (FLT_KMS_KEY_DISABLED)',
          ) as unknown,
        }),
      );
      const records = await operator.ctx.kms.usage('storage', { limit: 1000 });
      expect(records).toContainEqual(
        expect.objectContaining({
          caller: `${SPIFFE}/storage`,
          operation: 'GenerateDataKeys',
          context: { bucket: 'vault' },
          outcome: 'failure',
          keyVersion: null,
        }),
      );
    } finally {
      await operator.ctx.kms.enableKey('storage');
    }
    // Enabled again: the same bucket takes puts.
    await app.ctx.storage.put('vault', 'secret.txt', 'stored now');
    expect(await (await app.ctx.storage.get('vault', 'secret.txt')).body.text()).toBe('stored now');
    expect((await app.ctx.storage.list('vault')).objects.map((o) => o.key)).toEqual(['secret.txt']);
  });

  it('seals an object of a bucket with its own key under that key, not under `storage`', async () => {
    const video = randomBytes(70 * 1024);
    await app.ctx.storage.put('videos', 'v1', video, { contentType: 'video/mp4' });
    const sealed = await sealedKeyOf('videos', 'v1');
    expect(sealed).toMatch(/^kms:v1:videos:1:[A-Za-z0-9_-]+$/);
    const read = await app.ctx.storage.get('videos', 'v1');
    expect(Buffer.from(await read.body.arrayBuffer()).equals(video)).toBe(true);
    // The KMS records storage's use of Key::"videos" for the bucket, and none of
    // Key::"storage" for it.
    const videos = await operator.ctx.kms.usage('videos', { limit: 100 });
    expect(videos).toContainEqual(
      expect.objectContaining({
        caller: `${SPIFFE}/storage`,
        operation: 'GenerateDataKeys',
        context: { bucket: 'videos' },
        outcome: 'success',
      }),
    );
    const underStorage = await operator.ctx.kms.usage('storage', { limit: 1000 });
    expect(underStorage.filter((r) => r.context?.bucket === 'videos')).toEqual([]);
    // Disabling `storage` leaves the videos bucket readable and writable: its own key.
    await operator.ctx.kms.disableKey('storage');
    try {
      await app.ctx.storage.put('videos', 'v2', 'still sealed', { contentType: 'video/webm' });
      expect(await sealedKeyOf('videos', 'v2')).toMatch(/^kms:v1:videos:1:/);
    } finally {
      await operator.ctx.kms.enableKey('storage');
    }
  });

  // Last: it replaces the storage service. A storage whose STORAGE_KMS_KEY names a key no
  // policy grants it (a misconfiguration) gets the KMS's policy refusal on its first put.
  it('fails a put when storage has no grant on its key (the KMS refuses), and keeps nothing', async () => {
    await storage.stop();
    const second = await createStorage().start({
      env: {
        ...(await joined('storage')),
        STORAGE_BUCKETS_FILE: join(home, 'buckets.json'),
        STORAGE_KMS_KEY: 'ungranted',
        STORAGE_URL: `file://${join(home, 'second-objects')}`,
      },
      inMemoryDb: true,
    });
    // A fresh `app` instance: its first catalog has only the second storage in it.
    const caller = await defineService({ name: 'app', routes() {} }).start({ env: await joined('app') });
    try {
      const err = await refusal(caller.ctx.storage.put('media', 'denied.txt', 'never stored'));
      expect(err).toBeInstanceOf(FlotillaError);
      // Not the caller's 403: its bucket grant holds; storage's own key grant does not.
      expect(err).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', status: 502 });
      expect((await caller.ctx.storage.list('media')).objects).toEqual([]);
      const blobs: string[] = [];
      for await (const name of storageInternals(second.ctx).backend.names()) blobs.push(name);
      expect(blobs).toEqual([]);
      // The KMS decided on the key, and recorded the refusal (it has no such key either:
      // policy is decided first, so an ungranted caller learns nothing about the key).
      const records = await operator.ctx.kms.usage('ungranted', { limit: 100 });
      expect(records).toContainEqual(
        expect.objectContaining({
          caller: `${SPIFFE}/storage`,
          operation: 'GenerateDataKeys',
          context: { bucket: 'media' },
          outcome: 'denied',
        }),
      );
    } finally {
      await caller.stop();
      await second.stop();
    }
  });
});
