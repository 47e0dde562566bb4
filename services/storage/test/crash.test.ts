// kill -9 in the middle of a put: no partial object, no orphan; every acknowledged
// object reads back byte for byte after a restart.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { digest, seededBytes, seededChunks, sha256 } from './fixtures/data.js';
import { type StorageProcesses, storageProcesses } from './process-harness.js';

let procs: StorageProcesses;
beforeAll(async () => {
  procs = await storageProcesses();
});
afterAll(() => procs?.close());

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('a put cut by kill -9 leaves nothing; acknowledged objects survive byte for byte', async () => {
  const root = join(procs.home, 'data', 'storage-objects');
  const first = await procs.start();
  const app = await procs.client(first);
  // Keys unique to this run: with DATABASE_URL the rows share a PostgreSQL database.
  const run = randomUUID().slice(0, 8);
  const acknowledged = new Map<string, string>();
  for (const [i, size] of [0, 1, 70_000, 300_000, 1_000_000].entries()) {
    const data = seededBytes(100 + i, size);
    await app.put('media', `${run}/kept/${i}`, data);
    acknowledged.set(`${run}/kept/${i}`, sha256(data));
  }
  // An overwrite in flight: the acknowledged version must be what survives.
  const overwrite = app.put(
    'media',
    `${run}/kept/3`,
    Readable.from(
      (async function* () {
        yield* seededChunks(999, 4 * 1024 * 1024);
        await new Promise(() => undefined); // never ends: the process dies first
      })(),
    ),
  );
  overwrite.catch(() => undefined);
  // A fresh object in flight, well into its bytes when the process dies.
  const fresh = app.put(
    'media',
    `${run}/partial`,
    Readable.from(
      (async function* () {
        yield* seededChunks(5, 3 * 1024 * 1024);
        await new Promise(() => undefined);
      })(),
    ),
  );
  fresh.catch(() => undefined);
  await until(async () => {
    const tmp = await filesUnder(join(root, 'tmp'));
    const sizes = await Promise.all(tmp.map(async (f) => (await stat(f).catch(() => ({ size: 0 }))).size));
    return tmp.length === 2 && sizes.every((s) => s > 1024 * 1024);
  });
  await first.kill('SIGKILL');
  await expect(fresh).rejects.toThrow();
  await expect(overwrite).rejects.toThrow();

  // A blob whose row never committed (a crash between the two): an orphan for the sweep.
  const orphan = randomUUID();
  await mkdir(join(root, 'blobs', orphan.slice(0, 2)), { recursive: true });
  await writeFile(join(root, 'blobs', orphan.slice(0, 2), orphan), 'orphaned bytes');

  const second = await procs.start();
  const again = await procs.client(second);
  expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
  const blobs = (await filesUnder(join(root, 'blobs'))).map((f) => f.split('/').at(-1));
  expect(blobs).not.toContain(orphan);
  expect(blobs).toHaveLength(acknowledged.size); // one blob per object, nothing else
  await expect(again.head('media', `${run}/partial`)).rejects.toMatchObject({ code: 'FLT_NOT_FOUND' });
  for (const [key, hash] of acknowledged) {
    const got = await again.get('media', key);
    expect((await digest(got.body)).sha256).toBe(hash);
  }
  const listed = (await again.list('media', { prefix: `${run}/` })).objects.map((o) => o.key);
  expect(listed.sort()).toEqual([...acknowledged.keys()].sort());
});
