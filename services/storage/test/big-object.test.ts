// A 2 GiB object streamed in and read back (and a range in its middle) with the storage
// process's memory flat: RSS growth under 64 MB (VmRSS from /proc/<pid>/status).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { digest, seededChunks, seededStream } from './fixtures/data.js';
import { type StorageProcesses, storageProcesses } from './process-harness.js';

const SIZE = 2 * 1024 ** 3;
const LIMIT = 64 * 1024 * 1024;

let procs: StorageProcesses;
beforeAll(async () => {
  procs = await storageProcesses();
});
afterAll(() => procs?.close());

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** Samples RSS every 100 ms while `work` runs; the highest sample. */
async function peakDuring<T>(pid: number, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = await rss(pid);
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rss(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    running = false;
    await sampler;
  }
}

it(
  'streams 2 GiB in and out, and a range in its middle, with RSS growth under 64 MB',
  { timeout: 600_000 },
  async () => {
    const proc = await procs.start();
    const app = await procs.client(proc);
    // Warm up through the same paths (JIT, TLS, pools, and V8's young generation, which
    // grows with the allocation rate) so that the baseline is the steady state: what is
    // measured then is what the object's size adds — nothing, if memory is constant.
    await app.put('big', 'warm', seededStream(1, 256 * 1024 * 1024));
    await digest((await app.get('big', 'warm')).body);
    const baseline = await rss(proc.pid);

    const expected = createHash('sha256');
    for (const c of seededChunks(42, SIZE)) expected.update(c);
    const sha = expected.digest('hex');

    const put = await peakDuring(proc.pid, app.put('big', 'two-gib', seededStream(42, SIZE)));
    expect(put.result).toMatchObject({ size: SIZE, etag: `"${sha}"` });

    const get = await peakDuring(
      proc.pid,
      app.get('big', 'two-gib').then((r) => digest(r.body)),
    );
    expect(get.result).toEqual({ sha256: sha, size: SIZE });

    const middle = SIZE / 2 - 12_345;
    const range = await peakDuring(
      proc.pid,
      app
        .get('big', 'two-gib', { range: { start: middle, end: middle + 1024 * 1024 - 1 } })
        .then((r) => digest(r.body)),
    );
    let skip = middle;
    const want = createHash('sha256');
    let need = 1024 * 1024;
    for (const c of seededChunks(42, middle + need)) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const part = c.subarray(skip, skip + need);
      skip = 0;
      need -= part.length;
      want.update(part);
    }
    expect(range.result).toEqual({ sha256: want.digest('hex'), size: 1024 * 1024 });

    const growth = Math.max(put.peak, get.peak, range.peak) - baseline;
    console.log(
      `storage RSS: baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak growth put ${((put.peak - baseline) / 2 ** 20).toFixed(1)} MiB, get ${((get.peak - baseline) / 2 ** 20).toFixed(1)} MiB, range ${((range.peak - baseline) / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(growth).toBeLessThan(LIMIT);
  },
);
