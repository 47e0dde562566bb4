// The kit's side of the KMS, against the real thing: a control plane, the KMS joined to
// it, and a service that reaches the KMS as `ctx.kms` (discovery, mTLS, Cedar on the key),
// with the data-key pool and the decrypt cache on top.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineService, type RunningService } from '@flotilla/kit';
import { DataKeyCache, DataKeyPool, type KmsClient } from '@flotilla/kit/contracts';
import { type RunningControl, startControl } from '@flotilla/control';
import { fleetJoiner, policiesWithGrants } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsService } from '../src/index.js';
import { POLICY_DIR, refusal } from './helpers.js';

const GRANTS = `
@id("test-app-data-keys")
permit (
  principal == Service::"app",
  action in [Action::"kms:GenerateDataKey", Action::"kms:Decrypt"],
  resource == Key::"app-data"
);
`;

let home: string;
let control: RunningControl;
let kms: RunningService;
let app: RunningService;
let client: KmsClient;
const decrypts: string[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flotilla-kms-fleet-'));
  const policies = await policiesWithGrants(home, POLICY_DIR, GRANTS);
  await writeFile(join(home, 'keys.json'), JSON.stringify([{ name: 'app-data' }]));
  control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  const joined = fleetJoiner(control, { home, policies });
  kms = await createKmsService().start({
    env: {
      ...(await joined('kms')),
      FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
      KMS_KEYS_FILE: join(home, 'keys.json'),
    },
    inMemoryDb: true,
  });
  app = await defineService({ name: 'app', routes() {} }).start({ env: await joined('app') });
  // Counts the decrypts that reach the KMS, to see the cache spare them.
  const kmsClient = app.ctx.kms;
  client = Object.assign(Object.create(kmsClient) as KmsClient, {
    decrypt: (ct: string, c?: Record<string, string>) => {
      decrypts.push(ct);
      return kmsClient.decrypt(ct, c);
    },
  });
});
afterAll(async () => {
  await app?.stop();
  await kms?.stop();
  await control?.stop();
  await rm(home, { recursive: true, force: true });
});

describe('ctx.kms', () => {
  it('reaches the KMS through discovery over mTLS, as the calling service', async () => {
    const key = await app.ctx.kms.generateDataKey('app-data', { purpose: 'fleet-test' });
    expect(await app.ctx.kms.decrypt(key.ciphertext, { purpose: 'fleet-test' })).toEqual(key.plaintext);
    // The endpoint gate let `app` in; the key gate decides, and `app` has no Encrypt.
    expect(await refusal(app.ctx.kms.encrypt('app-data', Buffer.from('x')))).toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    const audit = await readFile(join(home, 'audit', 'kms.jsonl'), 'utf8');
    expect(audit).toContain('"actor":"spiffe://flotilla.local/svc/app"');
  });

  it('says clearly that a service without a control plane has no KMS', async () => {
    const alone = await defineService({ name: 'alone', routes() {} }).start({
      env: { PORT: '0', LOG_LEVEL: 'silent', FLOTILLA_HOME: home },
    });
    try {
      expect(() => alone.ctx.kms).toThrow(/no control plane, so it cannot reach the KMS/);
    } finally {
      await alone.stop();
    }
  });
});

describe('DataKeyPool', () => {
  it('hands out each data key once, refilling in batches from the KMS', async () => {
    const pool = new DataKeyPool(app.ctx.kms, 'app-data', { purpose: 'pool' }, { size: 64 });
    await pool.warm();
    expect(pool.ready).toBe(64);
    const taken = await Promise.all(Array.from({ length: 200 }, () => pool.take()));
    expect(new Set(taken.map((k) => k.plaintext.toString('hex'))).size).toBe(200);
    expect(new Set(taken.map((k) => k.ciphertext)).size).toBe(200);
    const last = taken[199]!;
    expect(await app.ctx.kms.decrypt(last.ciphertext, { purpose: 'pool' })).toEqual(last.plaintext);
    pool.close();
    await expect(pool.take()).rejects.toThrow(/closed/);
  });

  it('drops keys that waited too long instead of handing them out', async () => {
    let now = 0;
    const batches: number[] = [];
    const counting = {
      generateDataKeys: (name: string, count: number, context?: Record<string, string>) => {
        batches.push(count);
        return app.ctx.kms.generateDataKeys(name, count, context);
      },
    };
    const pool = new DataKeyPool(counting, 'app-data', undefined, {
      size: 4,
      lowWater: 0,
      maxAgeMs: 1000,
      now: () => now,
    });
    await pool.warm();
    await pool.take();
    expect(batches).toEqual([4]);
    now += 1001;
    // The three left are too old: dropped, and a fresh batch fetched for this take.
    await pool.take();
    expect(batches).toEqual([4, 4]);
    expect(pool.ready).toBe(3);
    pool.close();
  });

  it('passes on the KMS refusal when it cannot fill', async () => {
    const pool = new DataKeyPool(app.ctx.kms, 'not-granted', undefined, { size: 8 });
    expect(await refusal(pool.take())).toMatchObject({ code: 'FLT_POLICY_DENIED' });
  });
});

describe('DataKeyCache', () => {
  it('decrypts a data key once per ciphertext and context, within its TTL and size', async () => {
    let now = 0;
    const cache = new DataKeyCache(client, { maxEntries: 2, ttlMs: 1000, now: () => now });
    const [a, b, c] = await app.ctx.kms.generateDataKeys('app-data', 3, { purpose: 'cache' });
    decrypts.length = 0;
    const first = await Promise.all([
      cache.decrypt(a!.ciphertext, { purpose: 'cache' }),
      cache.decrypt(a!.ciphertext, { purpose: 'cache' }),
    ]);
    expect(first).toEqual([a!.plaintext, a!.plaintext]);
    expect(await cache.decrypt(a!.ciphertext, { purpose: 'cache' })).toEqual(a!.plaintext);
    expect(decrypts).toHaveLength(1);
    // A copy each time: zeroing what you got does not spoil the cache.
    (await cache.decrypt(a!.ciphertext, { purpose: 'cache' })).fill(0);
    expect(await cache.decrypt(a!.ciphertext, { purpose: 'cache' })).toEqual(a!.plaintext);
    // Another context is another entry (and the KMS refuses it).
    expect(await refusal(cache.decrypt(a!.ciphertext, { purpose: 'other' }))).toMatchObject({
      code: 'FLT_KMS_CIPHERTEXT_INVALID',
    });
    // Bounded: b and c push a out.
    await cache.decrypt(b!.ciphertext, { purpose: 'cache' });
    await cache.decrypt(c!.ciphertext, { purpose: 'cache' });
    expect(cache.size).toBe(2);
    decrypts.length = 0;
    await cache.decrypt(a!.ciphertext, { purpose: 'cache' });
    expect(decrypts).toHaveLength(1);
    // Expired: asked again.
    now += 1001;
    await cache.decrypt(a!.ciphertext, { purpose: 'cache' });
    expect(decrypts).toHaveLength(2);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
