// One contract suite, every backend: local disk and S3 (s3rver), PGlite and PostgreSQL.
import { randomUUID } from 'node:crypto';
import type { FlotillaError } from '@flotilla/kit';
import type { StorageClient } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digest, seededBytes, sha256 } from './fixtures/data.js';
import { startS3 } from './fixtures/s3.js';
import { databases, type Harness, startStorage } from './harness.js';

const SEGMENT = 64 * 1024;

async function refusal(p: Promise<unknown>): Promise<FlotillaError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as FlotillaError,
  );
}

const matrix = [
  ...databases().map((db) => ({ name: `disk, ${db.name}`, s3: false, env: db.env })),
  { name: 's3rver, pglite', s3: true, env: {} as Record<string, string> },
];

describe.each(matrix)('storage on $name', ({ s3, env }) => {
  let h: Harness;
  let app: StorageClient;
  let s3server: Awaited<ReturnType<typeof startS3>> | undefined;
  // Keys unique to this run: runs sharing a PostgreSQL database do not see each other.
  const run = randomUUID().slice(0, 8);
  const k = (name: string) => `${run}/${name}`;

  beforeAll(async () => {
    s3server = s3 ? await startS3() : undefined;
    h = await startStorage({ ...env, ...(s3server ? { STORAGE_URL: s3server.url } : {}) });
    app = await h.clientAs('app');
  });
  afterAll(async () => {
    await h?.close();
    await s3server?.close();
  });

  it('lists the declared buckets', async () => {
    const buckets = await app.listBuckets();
    expect(buckets.map((b) => b.name)).toEqual([
      'media',
      'limited',
      'history',
      'local-only',
      'big',
      'people',
    ]);
    expect(buckets.find((b) => b.name === 'history')?.versioning).toBe(true);
  });

  it.each([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 200_003])(
    'round-trips %i bytes, ETag = SHA-256 of the plaintext',
    async (size) => {
      const data = seededBytes(size + 1, size);
      const put = await app.put('media', k(`sizes/${size}`), data, { contentType: 'application/x-test' });
      expect(put).toMatchObject({ size, etag: `"${sha256(data)}"`, versionId: null });
      const got = await app.get('media', k(`sizes/${size}`));
      expect(got).toMatchObject({ status: 200, size, etag: put.etag, contentType: 'application/x-test' });
      expect(await digest(got.body)).toEqual({ sha256: sha256(data), size });
      const head = await app.head('media', k(`sizes/${size}`));
      expect(head).toMatchObject({ size, etag: put.etag });
    },
  );

  it('answers single ranges with 206, decrypting only what they touch', async () => {
    const size = 5 * SEGMENT + 123;
    const data = seededBytes(7, size);
    await app.put('media', k('ranges'), data);
    const cases: Array<[{ start: number; end?: number }, number, number]> = [
      [{ start: 0, end: 0 }, 0, 0],
      [{ start: 10, end: 99 }, 10, 99],
      [{ start: SEGMENT - 5, end: SEGMENT + 5 }, SEGMENT - 5, SEGMENT + 5],
      [{ start: 2 * SEGMENT, end: 4 * SEGMENT - 1 }, 2 * SEGMENT, 4 * SEGMENT - 1],
      [{ start: size - 10 }, size - 10, size - 1],
      [{ start: 3 * SEGMENT + 7, end: size + 1000 }, 3 * SEGMENT + 7, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const got = await app.get('media', k('ranges'), { range });
      expect(got.status).toBe(206);
      expect(got.contentRange).toBe(`bytes ${start}-${end}/${size}`);
      const body = Buffer.from(await got.body.arrayBuffer());
      expect(body.equals(data.subarray(start, end + 1))).toBe(true);
    }
    const suffix = await h.raw('app', 'GET', `/v1/buckets/media/objects/${run}/ranges`, {
      range: 'bytes=-7',
    });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes ${size - 7}-${size - 1}/${size}`);
  });

  it('refuses a range beyond the object with 416 and bytes */size', async () => {
    await app.put('media', k('small'), 'abc');
    const res = await h.raw('app', 'GET', `/v1/buckets/media/objects/${run}/small`, { range: 'bytes=3-9' });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */3');
    expect(JSON.parse(res.text)).toMatchObject({ code: 'FLT_RANGE_NOT_SATISFIABLE' });
  });

  it('lists with prefix, delimiter, max-keys and continuation tokens', async () => {
    const base = k('tree/');
    for (const key of ['a.txt', 'b/1', 'b/2', 'c/d/e', 'd.txt', 'e.txt'])
      await app.put('media', base + key, key);
    const top = await app.list('media', { prefix: base, delimiter: '/' });
    expect(top.objects.map((o) => o.key)).toEqual([`${base}a.txt`, `${base}d.txt`, `${base}e.txt`]);
    expect(top.commonPrefixes).toEqual([`${base}b/`, `${base}c/`]);
    expect(top.isTruncated).toBe(false);

    const seen: string[] = [];
    for await (const page of app.listAll('media', { prefix: base, delimiter: '/', maxKeys: 2 })) {
      expect(page.objects.length + page.commonPrefixes.length).toBeLessThanOrEqual(2);
      seen.push(...page.objects.map((o) => o.key), ...page.commonPrefixes);
    }
    expect(seen.sort()).toEqual([...top.objects.map((o) => o.key), ...top.commonPrefixes].sort());

    const flat: string[] = [];
    for await (const page of app.listAll('media', { prefix: `${base}b/`, maxKeys: 1 }))
      flat.push(...page.objects.map((o) => o.key));
    expect(flat).toEqual([`${base}b/1`, `${base}b/2`]);
  });

  it('deletes, and a deleted object is not found', async () => {
    await app.put('media', k('gone'), 'x');
    expect(await app.delete('media', k('gone'))).toEqual({ deleteMarker: false, versionId: null });
    expect(await refusal(app.get('media', k('gone')))).toMatchObject({ code: 'FLT_NOT_FOUND', status: 404 });
    expect(await refusal(app.head('media', k('gone')))).toMatchObject({ code: 'FLT_NOT_FOUND' });
    // Every write and delete is in the audit trail, by who did it.
    const records = await h.auditRecords();
    for (const action of ['storage.put', 'storage.delete'])
      expect(records).toContainEqual(
        expect.objectContaining({
          action,
          outcome: 'success',
          target: `media/${k('gone')}`,
          actor: 'spiffe://flotilla.local/svc/app',
        }),
      );
  });

  it('copies inside the service, re-encrypted under the new name', async () => {
    const data = seededBytes(3, 150_000);
    const put = await app.put('media', k('original'), data, { contentType: 'image/png' });
    const copy = await app.copy({ bucket: 'media', key: k('original') }, { bucket: 'media', key: k('copy') });
    expect(copy).toMatchObject({ etag: put.etag, size: 150_000, key: k('copy') });
    const got = await app.get('media', k('copy'));
    expect(got.contentType).toBe('image/png');
    expect(await digest(got.body)).toEqual({ sha256: sha256(data), size: 150_000 });
    // limited takes image/* but at most 100 kB: the copy is refused while streaming.
    expect(
      await refusal(app.copy({ bucket: 'media', key: k('original') }, { bucket: 'limited', key: k('copy') })),
    ).toMatchObject({ code: 'FLT_BODY_TOO_LARGE', status: 413 });
  });

  it('honours If-Match and If-None-Match (create-only, optimistic writes, 304)', async () => {
    const first = await app.put('media', k('cond'), 'one', { ifNoneMatch: '*' });
    expect(await refusal(app.put('media', k('cond'), 'two', { ifNoneMatch: '*' }))).toMatchObject({
      code: 'FLT_PRECONDITION_FAILED',
      status: 412,
    });
    expect(await refusal(app.put('media', k('cond'), 'two', { ifMatch: '"0000"' }))).toMatchObject({
      code: 'FLT_PRECONDITION_FAILED',
    });
    const second = await app.put('media', k('cond'), 'two', { ifMatch: first.etag });
    const res = await h.raw('app', 'GET', `/v1/buckets/media/objects/${run}/cond`, {
      'if-none-match': second.etag,
    });
    expect(res.status).toBe(304);
    expect(await (await app.get('media', k('cond'))).body.text()).toBe('two');
    expect(await refusal(app.delete('media', k('cond'), { ifMatch: first.etag }))).toMatchObject({
      code: 'FLT_PRECONDITION_FAILED',
    });
  });

  it('keeps versions in a versioned bucket; a delete adds a marker', async () => {
    const v1 = await app.put('history', k('doc'), 'version one');
    const v2 = await app.put('history', k('doc'), 'version two');
    expect(v1.versionId).toEqual(expect.any(String));
    expect(v2.versionId).not.toBe(v1.versionId);
    expect(await (await app.get('history', k('doc'))).body.text()).toBe('version two');
    expect(await (await app.get('history', k('doc'), { versionId: v1.versionId! })).body.text()).toBe(
      'version one',
    );
    const marker = await app.delete('history', k('doc'));
    expect(marker.deleteMarker).toBe(true);
    expect(await refusal(app.get('history', k('doc')))).toMatchObject({ code: 'FLT_NOT_FOUND' });
    expect(await (await app.get('history', k('doc'), { versionId: v2.versionId! })).body.text()).toBe(
      'version two',
    );
    // Removing the marker itself brings the newest version back.
    await app.delete('history', k('doc'), { versionId: marker.versionId! });
    expect(await (await app.get('history', k('doc'))).body.text()).toBe('version two');
  });

  it('streams from an async iterable', async () => {
    async function* parts() {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(10_000, i);
    }
    const put = await app.put('media', k('iter'), parts());
    expect(put.size).toBe(100_000);
  });
});
