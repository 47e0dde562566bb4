import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobBackend } from './backend.js';

/** Bytes gathered before one `writev`: fewer system calls than one per segment. */
const WRITE_BATCH = 1024 * 1024;

/**
 * Blobs as files: `<root>/blobs/<2 hex>/<name>`. A write goes to `<root>/tmp/`, is
 * fsynced, renamed into place and its folder fsynced (rename is atomic on POSIX; the
 * folder's fsync makes the rename itself durable).
 */
export class DiskBackend implements BlobBackend {
  readonly kind = 'disk';
  private readonly blobs: string;
  private readonly tmp: string;

  constructor(readonly root: string) {
    this.blobs = join(root, 'blobs');
    this.tmp = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.blobs, { recursive: true, mode: 0o700 });
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
  }

  pathOf(name: string): string {
    return join(this.blobs, name.slice(0, 2), name);
  }

  async write(name: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    const tmp = join(this.tmp, `${name}.${randomBytes(4).toString('hex')}.tmp`);
    const file = await open(tmp, 'wx', 0o600);
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for await (const chunk of chunks) {
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH) {
          await writeAll(file, batch);
          batch = [];
          batchBytes = 0;
        }
      }
      await writeAll(file, batch);
      await file.sync();
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await file.close();
    const final = this.pathOf(name);
    await mkdir(dirname(final), { recursive: true, mode: 0o700 });
    await rename(tmp, final);
    await syncDir(dirname(final));
  }

  read(name: string, start: number, end: number): Readable {
    return createReadStream(this.pathOf(name), { start, end: end - 1, highWaterMark: 1024 * 1024 });
  }

  async delete(name: string): Promise<void> {
    await rm(this.pathOf(name), { force: true });
  }

  async *names(): AsyncIterable<string> {
    for (const dir of await readdir(this.blobs).catch(() => [])) {
      for (const name of await readdir(join(this.blobs, dir)).catch(() => [])) yield name;
    }
  }

  async cleanup(): Promise<void> {
    for (const name of await readdir(this.tmp).catch(() => []))
      await rm(join(this.tmp, name), { force: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Writes every byte of `buffers` (a write may be partial). */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest);
    const next: Buffer[] = [];
    for (const b of rest) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        next.push(b.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = next;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
