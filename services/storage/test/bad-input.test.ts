// Every kind of bad input: a clear problem+json with a stable code, nothing changed, audited.
import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FlotillaError } from '@flotilla/kit';
import type { StorageClient } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskBackend } from '../src/backends/index.js';
import { createStorage, storageInternals } from '../src/index.js';
import { seededBytes } from './fixtures/data.js';
import { type Harness, POLICY_DIR, startStorage } from './harness.js';

const SEGMENT = 64 * 1024;
const STRIDE = SEGMENT + 16;

let h: Harness;
let app: StorageClient;
let disk: DiskBackend;

beforeAll(async () => {
  h = await startStorage();
  app = await h.clientAs('app');
  disk = storageInternals(h.service.ctx).backend as DiskBackend;
});
afterAll(() => h?.close());

async function refusal(p: Promise<unknown>): Promise<FlotillaError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as FlotillaError,
  );
}

/** Everything in every bucket, and every file under the blob store: what "nothing changed" compares. */
async function snapshot(): Promise<string> {
  const keys: string[] = [];
  for (const b of await app.listBuckets()) {
    if (b.name === 'local-only' || b.name === 'people') continue;
    for await (const page of app.listAll(b.name))
      keys.push(...page.objects.map((o) => `${b.name}/${o.key} ${o.etag}`));
  }
  return JSON.stringify({ keys, files: await files() });
}

async function files(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ['blobs', 'tmp']) {
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else out.push(join(d, e.name).slice(disk.root.length));
      }
    };
    await walk(join(disk.root, dir));
  }
  return out.sort();
}

async function blobOf(bucket: string, key: string): Promise<string> {
  const row = await storageInternals(h.service.ctx).store.latest(bucket, key);
  if (!row) throw new Error(`no ${bucket}/${key}`);
  return disk.pathOf(row.versionId);
}

async function lastAudit(): Promise<Record<string, unknown> | undefined> {
  return (await h.auditRecords()).at(-1);
}

describe('requests refused before anything is stored', () => {
  const raw = (path: string, headers: Record<string, string> = {}, body = 'x') =>
    h.raw(
      'app',
      'PUT',
      `/v1/buckets/media/objects/${path}`,
      { 'content-type': 'text/plain', ...headers },
      body,
    );
  const cases: Array<{
    name: string;
    send: () => Promise<{ status: number; text: string }>;
    status: number;
    code: string;
  }> = [
    {
      name: 'a key with a .. segment',
      send: () => raw('a/%2E%2E/b'),
      status: 400,
      code: 'FLT_OBJECT_KEY_INVALID',
    },
    { name: 'a key with a NUL', send: () => raw('a%00b'), status: 400, code: 'FLT_OBJECT_KEY_INVALID' },
    {
      name: 'a key over 1,024 bytes',
      send: () => raw(encodeURIComponent('é'.repeat(513))),
      status: 400,
      code: 'FLT_OBJECT_KEY_INVALID',
    },
    {
      name: 'a key with a leading /',
      send: () => raw('/etc/passwd'),
      status: 400,
      code: 'FLT_OBJECT_KEY_INVALID',
    },
    {
      name: 'a disallowed content type',
      send: () =>
        h.raw('app', 'PUT', '/v1/buckets/limited/objects/x.bin', { 'content-type': 'application/zip' }, 'x'),
      status: 415,
      code: 'FLT_MEDIA_TYPE',
    },
    {
      name: 'a declared length over the bucket limit',
      send: () =>
        h.raw(
          'app',
          'PUT',
          '/v1/buckets/limited/objects/big.txt',
          { 'content-type': 'text/plain' },
          Buffer.alloc(100_001),
        ),
      status: 413,
      code: 'FLT_BODY_TOO_LARGE',
    },
    {
      name: 'a caller with no grant',
      send: () =>
        h.raw('stranger', 'PUT', '/v1/buckets/media/objects/x', { 'content-type': 'text/plain' }, 'x'),
      status: 403,
      code: 'FLT_POLICY_DENIED',
    },
    {
      name: 'an unknown bucket',
      send: () => h.raw('app', 'GET', '/v1/buckets/nope/objects/x'),
      status: 404,
      code: 'FLT_NOT_FOUND',
    },
    {
      name: 'a malformed continuation token',
      send: () => h.raw('app', 'GET', '/v1/buckets/media?continuation-token=zzz'),
      status: 400,
      code: 'FLT_VALIDATION',
    },
  ];
  it.each(cases)('$name → $status $code, nothing changed, audited', async ({ send, status, code }) => {
    const before = await snapshot();
    const audits = (await h.auditRecords()).length;
    const res = await send();
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text)).toMatchObject({ code, status });
    expect(await snapshot()).toBe(before);
    const records = await h.auditRecords();
    expect(records.length).toBeGreaterThan(audits);
    expect(records.at(-1)).toMatchObject({ outcome: 'denied' });
  });
});

describe('limits enforced while streaming', () => {
  it('refuses an object over the limit mid-stream: 413, no blob, no temp file, no row', async () => {
    const before = await snapshot();
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(10_000, 1); // 400 kB, no Content-Length
      })(),
    );
    expect(
      await refusal(app.put('limited', 'stream.txt', body, { contentType: 'text/plain' })),
    ).toMatchObject({
      code: 'FLT_BODY_TOO_LARGE',
      status: 413,
    });
    expect(await snapshot()).toBe(before);
    expect(await lastAudit()).toMatchObject({ action: 'storage.put', outcome: 'denied' });
  });
});

describe('source address and caller policies', () => {
  it('"deny everything except from 127.0.0.1/32": 127.0.0.2 is refused where 127.0.0.1 is allowed', async () => {
    const local = await h.clientAs('app', { localAddress: '127.0.0.1' });
    const other = await h.clientAs('app', { localAddress: '127.0.0.2' });
    await local.put('local-only', 'ok.txt', 'from 127.0.0.1');
    expect(await (await local.get('local-only', 'ok.txt')).body.text()).toBe('from 127.0.0.1');
    const denied = await refusal(other.get('local-only', 'ok.txt'));
    expect(denied).toMatchObject({ code: 'FLT_POLICY_DENIED', status: 403 });
    expect(await lastAudit()).toMatchObject({
      action: 'storage.deny',
      outcome: 'denied',
      target: 'local-only/ok.txt',
      reason: expect.stringContaining('local-only-source-ip'),
    });
    expect(await refusal(other.put('local-only', 'no.txt', 'x'))).toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    expect(await refusal(local.get('local-only', 'no.txt'))).toMatchObject({ code: 'FLT_NOT_FOUND' });
  });

  it('the operator administers every bucket (policies/services.cedar); an unknown service nothing', async () => {
    const operator = await h.clientAs('operator');
    await operator.put('media', 'by-operator', 'x');
    expect((await operator.list('media', { prefix: 'by-operator' })).objects).toHaveLength(1);
    const stranger = await h.clientAs('stranger');
    expect(await refusal(stranger.list('media'))).toMatchObject({ code: 'FLT_POLICY_DENIED' });
    expect(await refusal(stranger.get('media', 'by-operator'))).toMatchObject({ code: 'FLT_POLICY_DENIED' });
  });
});

describe('endpoint authorisation (kit) and the bucket decision', () => {
  it('lets any fleet service reach the storage API, where the bucket decision refuses; other endpoints stay closed', async () => {
    // The kit's inbound check passed (svc-any-storage-api): the refusal is the bucket's.
    const listed = await h.raw('stranger', 'GET', '/v1/buckets/media');
    expect(JSON.parse(listed.text)).toMatchObject({ status: 403, code: 'FLT_POLICY_DENIED' });
    // A route outside /v1/buckets is the kit's to refuse: no policy opens it to `app`.
    const metrics = await h.raw('app', 'GET', '/metrics');
    expect(JSON.parse(metrics.text)).toMatchObject({ status: 403, code: 'FLT_FORBIDDEN' });
  });
});

describe('tampered objects: a clean error, never corrupt bytes', () => {
  const size = 4 * SEGMENT + 100;
  const data = seededBytes(11, size);

  async function fresh(key: string): Promise<string> {
    await app.put('media', key, data);
    return blobOf('media', key);
  }
  async function flipByte(file: string, at: number): Promise<void> {
    const fh = await open(file, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = (b[0] ?? 0) ^ 0x01;
    await fh.write(b, 0, 1, at);
    await fh.close();
  }
  const headerLen = async (key: string) =>
    (await storageInternals(h.service.ctx).store.latest('media', key))!.headerLen;

  const cases: Array<{
    name: string;
    key: string;
    tamper: (file: string, header: number) => Promise<void>;
    range?: { start: number; end?: number };
  }> = [
    { name: 'a changed ciphertext byte', key: 't/byte', tamper: (f, hl) => flipByte(f, hl + 100) },
    { name: 'a changed tag byte', key: 't/tag', tamper: (f, hl) => flipByte(f, hl + STRIDE - 1) },
    { name: 'a changed sealed data key', key: 't/sealed', tamper: (f, hl) => flipByte(f, hl - 3) },
    {
      name: 'a changed byte in a middle segment, read by range',
      key: 't/middle',
      tamper: (f, hl) => flipByte(f, hl + 2 * STRIDE + 5),
      range: { start: 2 * SEGMENT, end: 2 * SEGMENT + 10 },
    },
    {
      name: 'a truncated object (last segment gone)',
      key: 't/truncated',
      tamper: async (f, hl) => truncate(f, hl + 4 * STRIDE),
      range: { start: 4 * SEGMENT },
    },
    {
      name: 'reordered segments',
      key: 't/reordered',
      tamper: async (f, hl) => {
        const bytes = await readFile(f);
        const s0 = Buffer.from(bytes.subarray(hl, hl + STRIDE));
        bytes.copy(bytes, hl, hl + STRIDE, hl + 2 * STRIDE);
        s0.copy(bytes, hl + STRIDE);
        await writeFile(f, bytes);
      },
    },
    {
      name: 'a blob moved under another key',
      key: 't/moved',
      tamper: async (f) => writeFile(f, await readFile(await blobOf('media', 't/other'))),
    },
  ];
  beforeAll(async () => {
    await app.put('media', 't/other', data);
  });

  it.each(cases)('$name → FLT_OBJECT_INTEGRITY, no byte served, audited', async ({ key, tamper, range }) => {
    const file = await fresh(key);
    await tamper(file, await headerLen(key));
    const before = (await stat(file)).size;
    const err = await refusal(app.get('media', key, range ? { range } : {}));
    expect(err).toMatchObject({ code: 'FLT_OBJECT_INTEGRITY', status: 500 });
    expect((await stat(file)).size).toBe(before);
    expect(await lastAudit()).toMatchObject({ action: 'storage.get', outcome: 'failure' });
  });

  it('a full read of an object tampered past its first segment ends in an error, not in wrong bytes', async () => {
    const file = await fresh('t/late');
    await flipByte(file, (await headerLen('t/late')) + 3 * STRIDE + 1);
    const got = await app.get('media', 't/late');
    await expect(got.body.arrayBuffer()).rejects.toThrow();
  });
});

describe('bucket policy files', () => {
  it('an invalid bucket policy stops the service with file:line: message', async () => {
    const file = join(h.home, 'bad.cedar');
    await writeFile(file, '// a bad one\npermit (principal, action == Action::"storage:Fly", resource);\n');
    const buckets = join(h.home, 'bad-buckets.json');
    await writeFile(buckets, JSON.stringify([{ name: 'broken', policy: 'bad.cedar' }]));
    const start = createStorage().start({
      inMemoryDb: true,
      env: {
        LOG_LEVEL: 'silent',
        FLOTILLA_HOME: h.home,
        FLOTILLA_POLICY_DIR: POLICY_DIR,
        STORAGE_BUCKETS_FILE: buckets,
        STORAGE_LOCAL_KEY_FILE: join(h.home, 'storage.key'),
      },
    });
    await expect(start).rejects.toThrow(new RegExp(`${file.replaceAll('/', '\\/')}:2:\\d+: .*storage:Fly`));
  });
});
