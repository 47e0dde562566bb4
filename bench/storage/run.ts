// Storage throughput in one run: (a) raw fs write with fsync and read, (b) AES-256-GCM in
// 64 KiB segments in-process (the service's own code), (c) put and get through the storage
// service over mTLS with SSE on; then the p50/p99 of a 1 MiB range read from the middle of
// the object. See README.md.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { StorageClient } from '@flotilla/kit/contracts';
import { decodeHeader, openRange, planRange, sealSegment, sealStream } from '@flotilla/storage';
import { spawnService, TestCa } from '@flotilla/testing';
import { Agent, request } from 'undici';

const MIB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    ranges: { type: 'string', default: '200' },
  },
});
const SIZE = Number(values.size) * MIB;
const RANGES = Number(values.ranges);
// One random MiB, repeated: the data generator costs nothing next to what is measured.
const BLOCK = randomBytes(MIB);

function* blocks(size: number): Generator<Buffer> {
  for (let done = 0; done < size; done += MIB)
    yield size - done >= MIB ? BLOCK : BLOCK.subarray(0, size - done);
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

async function rawFs(dir: string): Promise<{ write: number; read: number }> {
  const file = join(dir, 'raw.bin');
  const write = await time(async () => {
    const fh = await open(file, 'w');
    for (const b of blocks(SIZE)) await fh.write(b);
    await fh.sync();
    await fh.close();
  });
  const read = await time(async () => {
    const fh = await open(file, 'r');
    const buf = Buffer.allocUnsafe(MIB);
    while ((await fh.read(buf, 0, MIB)).bytesRead > 0);
    await fh.close();
  });
  await rm(file);
  return { write: mbps(SIZE, write), read: mbps(SIZE, read) };
}

async function segmented(): Promise<{ aes: number; seal: number; open: number }> {
  const key = randomBytes(32);
  const binding = { bucket: 'bench', key: 'k', blobId: 'b' };
  const opts = { key, sealedKey: 'local:bench', binding };
  // AES-256-GCM alone, segment by segment (a fresh cipher and nonce each, as stored).
  const header = { segmentSize: 64 * 1024, noncePrefix: randomBytes(7), sealedKey: '' };
  const segment = BLOCK.subarray(0, 64 * 1024);
  const aad = Buffer.from('bench');
  const aes = await time(async () => {
    for (let i = 0; i < SIZE / segment.length; i++) sealSegment(key, header, aad, i, false, segment);
    await Promise.resolve();
  });
  // The service's put path: segments plus the SHA-256 of the plaintext (the ETag).
  const seal = await time(async () => {
    for await (const _ of sealStream(blocks(SIZE), opts, {}));
  });
  // Open: 256 MiB sealed in memory first (not the whole size), then decrypted.
  const openSize = Math.min(SIZE, 256 * MIB);
  const sealed: Buffer[] = [];
  for await (const chunk of sealStream(blocks(openSize), opts, {})) sealed.push(chunk);
  const [headerBytes, ...segments] = sealed;
  const opened = decodeHeader(headerBytes!);
  const plan = planRange(openSize, headerBytes!.length, 0, openSize - 1);
  const open = await time(async () => {
    for await (const _ of openRange(Readable.from(segments), key, opened, binding, plan));
  });
  return { aes: mbps(SIZE, aes), seal: mbps(SIZE, seal), open: mbps(openSize, open) };
}

async function startStorage(home: string): Promise<{ client: StorageClient; stop(): Promise<void> }> {
  const ca = await TestCa.create();
  const identityFile = join(home, 'identity.json');
  await writeFile(
    identityFile,
    JSON.stringify({ ...(await ca.issue('storage')), trustDomain: ca.trustDomain }),
    {
      mode: 0o600,
    },
  );
  await writeFile(
    join(home, 'bench.cedar'),
    'permit (principal == Service::"bench", action, resource in Bucket::"bench");\n',
  );
  await writeFile(join(home, 'buckets.json'), JSON.stringify([{ name: 'bench', policy: 'bench.cedar' }]));
  const proc = await spawnService(
    join(import.meta.dirname, '../../services/storage/test/fixtures/storage-main.ts'),
    {
      LOG_LEVEL: 'warn',
      FLOTILLA_HOME: home,
      FLOTILLA_POLICY_DIR: join(import.meta.dirname, '../../policies'),
      FLOTILLA_ALLOWED_CALLS: '{}',
      STORAGE_BUCKETS_FILE: join(home, 'buckets.json'),
      STORAGE_LOCAL_KEY_FILE: join(home, 'storage.key'),
      STORAGE_TEST_IDENTITY_FILE: identityFile,
    },
  );
  const material = await ca.issue('bench');
  const agent = new Agent({ connect: { ca: ca.bundle, cert: material.cert, key: material.key } });
  const client = new StorageClient((r) =>
    request(`${proc.url}${r.path}`, {
      method: r.method,
      headers: r.headers,
      dispatcher: agent,
      ...(r.body !== undefined ? { body: r.body } : {}),
    }),
  );
  return {
    client,
    async stop() {
      await agent.close();
      await proc.kill();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-storage-'));
  try {
    console.log(`storage benchmark: ${SIZE / MIB} MiB, Node ${process.version}\n`);
    const raw = await rawFs(dir);
    console.log(`(a) raw fs write + fsync    ${raw.write.toFixed(0).padStart(6)} MB/s`);
    console.log(`(a) raw fs read (cache)     ${raw.read.toFixed(0).padStart(6)} MB/s`);
    const seg = await segmented();
    console.log(
      `(b) AES-256-GCM, 64 KiB     ${seg.aes.toFixed(0).padStart(6)} MB/s  (segments alone, one core)`,
    );
    console.log(
      `(b) seal + SHA-256 (put)    ${seg.seal.toFixed(0).padStart(6)} MB/s  (the service's encrypting stream)`,
    );
    console.log(
      `(b) open (get)              ${seg.open.toFixed(0).padStart(6)} MB/s  (the service's decrypting stream)`,
    );

    const storage = await startStorage(dir);
    try {
      const app = storage.client;
      await app.put('bench', 'warm', Readable.from(blocks(16 * MIB)));
      const putMs = await time(() => app.put('bench', 'big', Readable.from(blocks(SIZE))));
      const getMs = await time(async () => {
        const got = await app.get('bench', 'big');
        for await (const _ of got.body);
      });
      const put = mbps(SIZE, putMs);
      const get = mbps(SIZE, getMs);
      console.log(`(c) put through storage     ${put.toFixed(0).padStart(6)} MB/s  (mTLS, SSE, fsync)`);
      console.log(`(c) get through storage     ${get.toFixed(0).padStart(6)} MB/s`);
      console.log('');
      console.log(`put / raw write+fsync  (c)/(a)  ${(put / raw.write).toFixed(2)}  (target >= 0.5)`);
      console.log(`get / AES-GCM          (c)/(b)  ${(get / seg.aes).toFixed(2)}  (target >= 0.3)`);
      console.log(`get / open stream      (c)/(b)  ${(get / seg.open).toFixed(2)}`);
      console.log(`put / seal + SHA-256   (c)/(b)  ${(put / seg.seal).toFixed(2)}`);

      const samples: number[] = [];
      const middle = Math.floor(SIZE / 2) - 12_345;
      for (let i = 0; i < RANGES; i++) {
        const start = middle + (i % 16) * 4096;
        samples.push(
          await time(async () => {
            const got = await app.get('bench', 'big', { range: { start, end: start + MIB - 1 } });
            for await (const _ of got.body);
          }),
        );
      }
      samples.sort((x, y) => x - y);
      console.log(
        `\n1 MiB range from the middle of ${SIZE / MIB} MiB: p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (${RANGES} reads; target p50 <= 10 ms)`,
      );
    } finally {
      await storage.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
