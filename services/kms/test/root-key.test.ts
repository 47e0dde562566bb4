// The root key: from the environment or a 0600 file; anything else stops the service with one line.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsService, kmsInternals, loadRootKey } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-kms-root-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function keyFile(name: string, text: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

describe('the root key', () => {
  it('is read from FLOTILLA_KMS_ROOT_KEY or a 0600 file', async () => {
    const key = randomBytes(32);
    expect(loadRootKey({ FLOTILLA_KMS_ROOT_KEY: key.toString('base64') })).toEqual(key);
    const path = await keyFile('good', `${key.toString('base64')}\n`, 0o600);
    expect(loadRootKey({ KMS_ROOT_KEY_FILE: path })).toEqual(key);
  });

  it.each([
    {
      name: 'a file others may read',
      text: randomBytes(32).toString('base64'),
      mode: 0o644,
      says: /mode 0644.*chmod 600/,
    },
    { name: 'a short key', text: randomBytes(16).toString('base64'), mode: 0o600, says: /exactly 32 bytes/ },
    { name: 'not base64', text: `${'!'.repeat(44)}`, mode: 0o600, says: /exactly 32 bytes/ },
  ])('refuses $name with one readable line', async ({ name, text, mode, says }) => {
    const path = await keyFile(name.replaceAll(' ', '-'), text, mode);
    let message = '';
    try {
      loadRootKey({ KMS_ROOT_KEY_FILE: path });
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ code: 'FLT_CONFIG_INVALID', setting: 'KMS_ROOT_KEY_FILE' });
    }
    expect(message).toMatch(says);
    expect(message).not.toContain('\n');
  });

  it('refuses to start without one', async () => {
    const home = join(dir, 'home');
    const env = { PORT: '0', LOG_LEVEL: 'silent', FLOTILLA_HOME: home };
    await expect(createKmsService().start({ env, inMemoryDb: true })).rejects.toMatchObject({
      code: 'FLT_CONFIG_INVALID',
      message: expect.stringContaining('needs a root key'),
    });
  });

  it('refuses to start with a root key that does not open the stored keys', async () => {
    const env = { PORT: '0', LOG_LEVEL: 'silent', FLOTILLA_HOME: join(dir, 'changed') };
    const first = await createKmsService().start({
      env: { ...env, FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64') },
    });
    await kmsInternals(first.ctx).store.create({ name: 'sealed' }, new Date());
    await first.stop();
    await expect(
      createKmsService().start({
        env: { ...env, FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64') },
      }),
    ).rejects.toMatchObject({
      code: 'FLT_CONFIG_INVALID',
      message: expect.stringContaining('the root key does not open the stored keys'),
    });
  });
});

describe('declared keys (KMS_KEYS_FILE)', () => {
  it('are created at start when missing, and left alone when present', async () => {
    const home = join(dir, 'declared');
    const keys = await keyFile(
      'keys.json',
      JSON.stringify([
        { name: 'storage', rotationDays: 90 },
        { name: 'reports', description: 'monthly' },
      ]),
      0o600,
    );
    const env = {
      PORT: '0',
      LOG_LEVEL: 'silent',
      FLOTILLA_HOME: home,
      FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
      KMS_KEYS_FILE: keys,
    };
    // On disk (PGlite under FLOTILLA_HOME), so that the second start sees the first's keys.
    const first = await createKmsService().start({ env });
    const store = kmsInternals(first.ctx).store;
    await store.rotate('storage', new Date());
    await first.stop();
    const second = await createKmsService().start({ env });
    const listed = await kmsInternals(second.ctx).store.list();
    expect(listed.map((k) => [k.name, k.currentVersion, k.rotationDays, k.description])).toEqual([
      ['reports', 1, null, 'monthly'],
      ['storage', 2, 90, ''],
    ]);
    await second.stop();
  });

  it('refuses a file that does not validate, naming the entry', async () => {
    const keys = await keyFile('bad-keys.json', JSON.stringify([{ name: 'Bad Name' }]), 0o600);
    const env = {
      PORT: '0',
      LOG_LEVEL: 'silent',
      FLOTILLA_HOME: join(dir, 'bad'),
      FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
      KMS_KEYS_FILE: keys,
    };
    await expect(createKmsService().start({ env, inMemoryDb: true })).rejects.toMatchObject({
      code: 'FLT_CONFIG_INVALID',
      message: expect.stringMatching(/KMS_KEYS_FILE: .*\[0\]\/name/),
    });
  });
});
