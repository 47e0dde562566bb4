import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Db, FlotillaError } from '@flotilla/kit';
import type { Logger } from 'pino';
import type { BlobBackend } from '../backends/index.js';
import type { Bucket } from '../buckets.js';
import type { DataKeys } from '../sse/data-keys.js';
import { decodeHeader } from '../sse/format.js';
import { openRange, planRange, type SealSummary, sealStream } from '../sse/segments.js';
import { ObjectRows, type ObjectRow } from './object-rows.js';
import { type Conditions, checkConditions } from './preconditions.js';

export interface PutInput extends Conditions {
  contentType: string;
  body: AsyncIterable<Buffer | Uint8Array | string>;
  onBytes?: (n: number) => void;
}

export interface DeleteOutcome {
  deleteMarker: boolean;
  versionId: string | null;
  /** Whether anything existed to delete. */
  existed: boolean;
}

/** The data key's KMS encryption context: the bucket, so keys can be made ahead of time per bucket. */
const keyContext = (bucket: string) => ({ bucket });

const notFound = (bucket: string, key: string) =>
  new FlotillaError('FLT_NOT_FOUND', `${bucket}/${key} does not exist`);

/**
 * Objects: encrypted blobs in the backend, their metadata in the database. A put is
 * acknowledged only when both are durable (blob written and fsynced, then the row
 * committed); a blob without a row is an orphan that `sweep` removes at start.
 */
export class ObjectStore {
  private readonly rows: ObjectRows;

  constructor(
    private readonly db: Db,
    private readonly backend: BlobBackend,
    private readonly keys: DataKeys,
    private readonly log: Logger,
  ) {
    this.rows = new ObjectRows(db);
  }

  /** The version asked for, or the latest; a delete marker is not found. */
  async find(bucket: string, key: string, versionId?: string): Promise<ObjectRow> {
    const row = versionId
      ? await this.rows.version(bucket, key, versionId)
      : await this.rows.latest(bucket, key);
    if (!row || row.deleteMarker) throw notFound(bucket, key);
    return row;
  }

  latest(bucket: string, key: string): Promise<ObjectRow | undefined> {
    return this.rows.latest(bucket, key);
  }

  /** Streams a put in: encrypted under a fresh data key, durable before it is answered. */
  async put(bucket: Bucket, key: string, input: PutInput): Promise<ObjectRow> {
    // A cheap refusal before any byte is read; decided again, under lock, at commit.
    checkConditions(await this.rows.latest(bucket.name, key), input);
    const versionId = randomUUID();
    const dataKey = await this.keys.newKey(keyContext(bucket.name));
    const summary: Partial<SealSummary> = {};
    let headerLen = 0;
    const sealed = sealStream(
      input.body,
      {
        key: dataKey.plaintext,
        sealedKey: dataKey.sealed,
        binding: { bucket: bucket.name, key, blobId: versionId },
        ...(bucket.maxObjectSize !== undefined ? { maxSize: bucket.maxObjectSize } : {}),
        ...(input.onBytes ? { onBytes: input.onBytes } : {}),
      },
      summary,
    );
    try {
      await this.backend.write(
        versionId,
        withFirst(sealed, (h) => (headerLen = h.length)),
      );
    } finally {
      dataKey.plaintext.fill(0);
    }
    let replaced: ObjectRow | undefined;
    let row: ObjectRow;
    try {
      row = await this.db.transaction(async (tx) => {
        const rows = new ObjectRows(tx);
        const current = await rows.latestForUpdate(bucket.name, key);
        checkConditions(current, input);
        if (current && bucket.versioning) await rows.unsetLatest(bucket.name, key);
        else if (current) {
          await rows.remove(bucket.name, key, current.versionId);
          replaced = current;
        }
        return rows.insert({
          bucket: bucket.name,
          key,
          versionId,
          deleteMarker: false,
          size: summary.size ?? 0,
          etag: `"${summary.sha256 ?? ''}"`,
          contentType: input.contentType,
          headerLen,
        });
      });
    } catch (err) {
      await this.backend
        .delete(versionId)
        .catch((e: unknown) => this.log.warn({ err: e }, 'blob cleanup failed'));
      throw err;
    }
    if (replaced && !replaced.deleteMarker) await this.dropBlob(replaced.versionId);
    return row;
  }

  /**
   * The plaintext of `[start, end]` (inclusive) of an object. The first segment is opened
   * before this resolves, so a tampered start is a clean error, never a started body.
   */
  async read(row: ObjectRow, start: number, end: number): Promise<Readable> {
    const header = decodeHeader(await collect(this.backend.read(row.versionId, 0, row.headerLen)));
    const key = await this.keys.openKey(header.sealedKey, keyContext(row.bucket));
    const plan = planRange(row.size, row.headerLen, start, end);
    const plain = openRange(
      this.backend.read(row.versionId, plan.blobStart, plan.blobEnd),
      key,
      header,
      { bucket: row.bucket, key: row.key, blobId: row.versionId },
      plan,
    );
    const first = await plain.next();
    return Readable.from(
      prepend(first, plain, () => key.fill(0)),
      { objectMode: false },
    );
  }

  async delete(
    bucket: Bucket,
    key: string,
    opts: Conditions & { versionId?: string },
  ): Promise<DeleteOutcome> {
    let blob: string | undefined;
    const outcome = await this.db.transaction(async (tx): Promise<DeleteOutcome> => {
      const rows = new ObjectRows(tx);
      if (opts.versionId) {
        const row = await rows.version(bucket.name, key, opts.versionId);
        if (!row) throw notFound(bucket.name, key);
        checkConditions(row, opts);
        await rows.remove(bucket.name, key, row.versionId);
        if (row.isLatest) await rows.promoteNewest(bucket.name, key);
        if (!row.deleteMarker) blob = row.versionId;
        return { deleteMarker: row.deleteMarker, versionId: row.versionId, existed: true };
      }
      const current = await rows.latestForUpdate(bucket.name, key);
      checkConditions(current, opts);
      if (bucket.versioning) {
        // S3: a delete without a version hides the object behind a marker; versions stay.
        if (current) await rows.unsetLatest(bucket.name, key);
        const marker = await rows.insert({
          bucket: bucket.name,
          key,
          versionId: randomUUID(),
          deleteMarker: true,
          size: 0,
          etag: '',
          contentType: '',
          headerLen: 0,
        });
        return {
          deleteMarker: true,
          versionId: marker.versionId,
          existed: current !== undefined && !current.deleteMarker,
        };
      }
      if (!current) return { deleteMarker: false, versionId: null, existed: false };
      await rows.remove(bucket.name, key, current.versionId);
      blob = current.versionId;
      return { deleteMarker: false, versionId: null, existed: true };
    });
    if (blob) await this.dropBlob(blob);
    return outcome;
  }

  /** One page of a listing, S3 ListObjectsV2 style. */
  async list(
    bucket: string,
    opts: { prefix: string; delimiter: string | undefined; maxKeys: number; token: string | undefined },
  ): Promise<{ objects: ObjectRow[]; commonPrefixes: string[]; next: string | null }> {
    let { after, skip } = decodeToken(opts.token);
    const objects: ObjectRow[] = [];
    const commonPrefixes: string[] = [];
    const batch = Math.min(1000, opts.maxKeys + 1);
    for (;;) {
      const rows = await this.rows.page(bucket, opts.prefix, after, skip, batch);
      let jumped = false;
      for (const row of rows) {
        // A row beyond a full page: there is more, from where this page stopped.
        if (objects.length + commonPrefixes.length === opts.maxKeys)
          return { objects, commonPrefixes, next: encodeToken(after, skip) };
        const cut = opts.delimiter ? row.key.indexOf(opts.delimiter, opts.prefix.length) : -1;
        after = row.key;
        if (opts.delimiter && cut >= 0) {
          const common = row.key.slice(0, cut + opts.delimiter.length);
          commonPrefixes.push(common);
          skip = common;
          jumped = true;
          break; // ask again, past every key under this prefix
        }
        objects.push(row);
      }
      if (!jumped && rows.length < batch) return { objects, commonPrefixes, next: null };
    }
  }

  /** At start: unfinished writes and blobs without a metadata row (a crash between the two) go. */
  async sweep(): Promise<number> {
    await this.backend.cleanup();
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      const known = await this.rows.known(batch);
      for (const name of batch) {
        if (known.has(name)) continue;
        await this.backend.delete(name);
        removed += 1;
      }
      batch = [];
    };
    for await (const name of this.backend.names()) {
      if (!UUID.test(name)) continue; // not ours
      batch.push(name);
      if (batch.length >= 500) await flush();
    }
    await flush();
    return removed;
  }

  private async dropBlob(name: string): Promise<void> {
    // The row is gone: a blob left here by a failure is an orphan the next sweep removes.
    await this.backend
      .delete(name)
      .catch((err: unknown) => this.log.warn({ err, blob: name }, 'blob delete failed'));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A continuation token: where the last page stopped (opaque to clients). */
function encodeToken(after: string, skip: string | null): string {
  return Buffer.from(JSON.stringify([after, skip]), 'utf8').toString('base64url');
}

function decodeToken(token: string | undefined): { after: string; skip: string | null } {
  if (!token) return { after: '', skip: null };
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      typeof value[0] === 'string' &&
      (value[1] === null || typeof value[1] === 'string')
    )
      return { after: value[0], skip: value[1] as string | null };
  } catch {
    // falls through
  }
  throw new FlotillaError('FLT_VALIDATION', 'the continuation token is not one this service gave', {
    errors: [{ field: 'querystring/continuation-token', message: 'unknown token' }],
  });
}

/** Calls `onFirst` with the first chunk, then passes every chunk on. */
async function* withFirst(
  source: AsyncIterable<Buffer>,
  onFirst: (b: Buffer) => void,
): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of source) {
    if (first) onFirst(chunk);
    first = false;
    yield chunk;
  }
}

async function collect(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* prepend(
  first: IteratorResult<Buffer>,
  rest: AsyncGenerator<Buffer>,
  done: () => void,
): AsyncGenerator<Buffer> {
  try {
    if (first.done) return;
    yield first.value;
    yield* rest;
  } finally {
    await rest.return(undefined);
    done();
  }
}
