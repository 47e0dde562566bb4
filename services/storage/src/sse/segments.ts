import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import {
  encodeHeader,
  integrity,
  NONCE_PREFIX_BYTES,
  type ObjectHeader,
  SEGMENT_SIZE,
  segmentCount,
  TAG_BYTES,
} from './format.js';

/** What a blob is bound to: moving it under another name makes every segment fail. */
export interface BlobBinding {
  bucket: string;
  key: string;
  /** The blob (version) id; every put has its own. */
  blobId: string;
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n.writeUInt8(last ? 1 : 0, 11);
  return n;
}

/** The AAD prefix of a blob; the segment index is appended per segment. */
export function bindingAad(b: BlobBinding): Buffer {
  return Buffer.from(JSON.stringify(['flotilla-object-v1', b.bucket, b.key, b.blobId]), 'utf8');
}

function aadOf(prefix: Buffer, index: number): Buffer {
  const out = Buffer.alloc(prefix.length + 4);
  prefix.copy(out, 0);
  out.writeUInt32BE(index, prefix.length);
  return out;
}

/** A data key as a KeyObject: made once per object, not once per segment. */
export type SegmentKey = Buffer | KeyObject;

/** Seals one segment given as pieces (no copy); returns the ciphertext pieces and the tag. */
export function sealSegment(
  key: SegmentKey,
  h: ObjectHeader,
  aad: Buffer,
  index: number,
  last: boolean,
  plain: Buffer | readonly Buffer[],
): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(h.noncePrefix, index, last));
  cipher.setAAD(aadOf(aad, index));
  const out: Buffer[] = [];
  for (const piece of Buffer.isBuffer(plain) ? [plain] : plain) {
    const c = cipher.update(piece);
    if (c.length) out.push(c);
  }
  const final = cipher.final();
  if (final.length) out.push(final);
  out.push(cipher.getAuthTag());
  return out;
}

/**
 * Opens one sealed segment given as pieces (ciphertext then its 16-byte tag, split
 * anywhere). The plaintext is returned only once the tag verifies.
 */
export function openSegment(
  key: SegmentKey,
  h: ObjectHeader,
  aad: Buffer,
  index: number,
  last: boolean,
  sealed: Buffer | readonly Buffer[],
): Buffer[] {
  const pieces = Buffer.isBuffer(sealed) ? [sealed] : sealed;
  const total = pieces.reduce((n, p) => n + p.length, 0);
  if (total < TAG_BYTES) throw integrity(`segment ${index} is cut short`);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(h.noncePrefix, index, last));
  decipher.setAAD(aadOf(aad, index));
  const out: Buffer[] = [];
  const tag: Buffer[] = [];
  let body = total - TAG_BYTES;
  try {
    for (const piece of pieces) {
      const take = Math.min(body, piece.length);
      if (take > 0) {
        const p = decipher.update(piece.subarray(0, take));
        if (p.length) out.push(p);
      }
      body -= take;
      if (take < piece.length) tag.push(piece.subarray(take));
    }
    decipher.setAuthTag(Buffer.concat(tag, TAG_BYTES));
    const final = decipher.final();
    if (final.length) out.push(final);
    return out;
  } catch (cause) {
    throw integrity(`segment ${index} failed authentication`, cause);
  }
}

/** What sealing a stream found out about its plaintext. */
export interface SealSummary {
  size: number;
  /** Hex SHA-256 of the plaintext. */
  sha256: string;
}

export interface SealOptions {
  key: Buffer;
  sealedKey: string;
  binding: BlobBinding;
  /** Refuse (FLT_BODY_TOO_LARGE) as soon as the plaintext passes this many bytes. */
  maxSize?: number;
  /** Told the byte count of every plaintext chunk (metrics, progress). */
  onBytes?: (n: number) => void;
}

/**
 * Encrypts a plaintext stream into the blob format, chunk by chunk: the header, then one
 * sealed segment each time more than a segment's worth has arrived (so the segment held
 * back is known to be the last only when the source ends). Memory: about one segment.
 */
export async function* sealStream(
  source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  opts: SealOptions,
  summary: Partial<SealSummary>,
): AsyncGenerator<Buffer> {
  const header: ObjectHeader = {
    segmentSize: SEGMENT_SIZE,
    noncePrefix: randomBytes(NONCE_PREFIX_BYTES),
    sealedKey: opts.sealedKey,
  };
  const key = createSecretKey(opts.key);
  const aad = bindingAad(opts.binding);
  const hash = createHash('sha256');
  yield encodeHeader(header);
  // The segment being filled, as pieces of the source's chunks (never copied); a full one
  // waits in `full` until a later byte shows it was not the last.
  let pieces: Buffer[] = [];
  let filled = 0;
  let full: Buffer[] | undefined;
  let index = 0;
  let size = 0;
  for await (const chunk of source) {
    let buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length === 0) continue;
    size += buf.length;
    if (opts.maxSize !== undefined && size > opts.maxSize)
      throw new FlotillaError(
        'FLT_BODY_TOO_LARGE',
        `the object is larger than the bucket's limit of ${opts.maxSize} bytes`,
      );
    opts.onBytes?.(buf.length);
    hash.update(buf);
    while (buf.length > 0) {
      if (full) {
        yield* sealSegment(key, header, aad, index++, false, full);
        full = undefined;
      }
      const take = Math.min(SEGMENT_SIZE - filled, buf.length);
      pieces.push(take === buf.length ? buf : buf.subarray(0, take));
      filled += take;
      buf = buf.subarray(take);
      if (filled === SEGMENT_SIZE) {
        full = pieces;
        pieces = [];
        filled = 0;
      }
    }
  }
  if (full && filled === 0) yield* sealSegment(key, header, aad, index, true, full);
  else {
    if (full) yield* sealSegment(key, header, aad, index++, false, full);
    yield* sealSegment(key, header, aad, index, true, pieces);
  }
  summary.size = size;
  summary.sha256 = hash.digest('hex');
}

/** Where the stored bytes of a plaintext range are: the segments that hold it. */
export interface SegmentPlan {
  first: number;
  last: number;
  /** Byte offsets in the blob (end exclusive). */
  blobStart: number;
  blobEnd: number;
  /** How much of the first segment's plaintext to skip, and how many bytes to give in all. */
  skip: number;
  length: number;
  count: number;
}

/** The segments a plaintext range `[start, end]` (inclusive) of a `size`-byte object touches. */
export function planRange(size: number, headerLen: number, start: number, end: number): SegmentPlan {
  const count = segmentCount(size);
  const stride = SEGMENT_SIZE + TAG_BYTES;
  const first = Math.floor(start / SEGMENT_SIZE);
  const last = size === 0 ? 0 : Math.floor(end / SEGMENT_SIZE);
  const lastLen = last === count - 1 ? size - last * SEGMENT_SIZE : SEGMENT_SIZE;
  return {
    first,
    last,
    blobStart: headerLen + first * stride,
    blobEnd: headerLen + last * stride + lastLen + TAG_BYTES,
    skip: start - first * SEGMENT_SIZE,
    length: size === 0 ? 0 : end - start + 1,
    count,
  };
}

/**
 * Decrypts the segments of `plan` from the blob bytes `source` yields (starting at
 * `plan.blobStart`) and gives the plaintext of the range. A segment that fails
 * authentication, or bytes that end early, is an FLT_OBJECT_INTEGRITY error: no byte
 * of an unauthenticated segment is ever given out.
 */
export async function* openRange(
  source: AsyncIterable<Buffer | Uint8Array>,
  rawKey: Buffer,
  header: ObjectHeader,
  binding: BlobBinding,
  plan: SegmentPlan,
): AsyncGenerator<Buffer> {
  const key = createSecretKey(rawKey);
  const aad = bindingAad(binding);
  const stride = SEGMENT_SIZE + TAG_BYTES;
  const lastLen = plan.blobEnd - (plan.blobStart + (plan.last - plan.first) * stride);
  let index = plan.first;
  let pieces: Buffer[] = [];
  let have = 0;
  let skip = plan.skip;
  let remaining = plan.length;
  /** The plaintext of one opened segment, cut to the range. */
  function* emit(plain: Buffer[]): Generator<Buffer> {
    for (const p of plain) {
      const from = Math.min(skip, p.length);
      skip -= from;
      const take = Math.min(p.length - from, remaining);
      remaining -= take;
      if (take > 0) yield p.subarray(from, from + take);
    }
  }
  const want = () => (index === plan.last ? lastLen : stride);
  for await (const chunk of source) {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      if (index > plan.last) throw integrity('the object is longer than its metadata says');
      const take = Math.min(want() - have, buf.length);
      pieces.push(take === buf.length ? buf : buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === want()) {
        yield* emit(openSegment(key, header, aad, index, index === plan.count - 1, pieces));
        index += 1;
        pieces = [];
        have = 0;
      }
    }
  }
  if (index !== plan.last + 1 || remaining !== 0) throw integrity('the object is cut short');
}
