import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
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

export function sealSegment(
  key: Buffer,
  h: ObjectHeader,
  aad: Buffer,
  index: number,
  last: boolean,
  plain: Buffer,
): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(h.noncePrefix, index, last));
  cipher.setAAD(aadOf(aad, index));
  const body = cipher.update(plain);
  const final = cipher.final();
  return final.length ? [body, final, cipher.getAuthTag()] : [body, cipher.getAuthTag()];
}

export function openSegment(
  key: Buffer,
  h: ObjectHeader,
  aad: Buffer,
  index: number,
  last: boolean,
  sealed: Buffer,
): Buffer {
  if (sealed.length < TAG_BYTES) throw integrity(`segment ${index} is cut short`);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(h.noncePrefix, index, last));
  decipher.setAAD(aadOf(aad, index));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const out = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    decipher.final();
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
  const aad = bindingAad(opts.binding);
  const hash = createHash('sha256');
  yield encodeHeader(header);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  let size = 0;
  for await (const chunk of source) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (opts.maxSize !== undefined && size > opts.maxSize)
      throw new FlotillaError(
        'FLT_BODY_TOO_LARGE',
        `the object is larger than the bucket's limit of ${opts.maxSize} bytes`,
      );
    opts.onBytes?.(buf.length);
    hash.update(buf);
    pending.push(buf);
    pendingBytes += buf.length;
    // Strictly more than a segment: the segment sealed now is followed by at least one byte.
    while (pendingBytes > SEGMENT_SIZE) {
      const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      yield* sealSegment(opts.key, header, aad, index++, false, all.subarray(0, SEGMENT_SIZE));
      pending = [all.subarray(SEGMENT_SIZE)];
      pendingBytes -= SEGMENT_SIZE;
    }
  }
  const rest = Buffer.concat(pending, pendingBytes);
  yield* sealSegment(opts.key, header, aad, index, true, rest);
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
  key: Buffer,
  header: ObjectHeader,
  binding: BlobBinding,
  plan: SegmentPlan,
): AsyncGenerator<Buffer> {
  const aad = bindingAad(binding);
  const stride = SEGMENT_SIZE + TAG_BYTES;
  let index = plan.first;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let skip = plan.skip;
  let remaining = plan.length;
  const emit = (plain: Buffer): Buffer | undefined => {
    const from = Math.min(skip, plain.length);
    skip -= from;
    const take = Math.min(plain.length - from, remaining);
    remaining -= take;
    return take > 0 ? plain.subarray(from, from + take) : undefined;
  };
  for await (const chunk of source) {
    buffered.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    bufferedBytes += chunk.byteLength;
    while (index < plan.last && bufferedBytes >= stride) {
      const all = buffered.length === 1 ? (buffered[0] as Buffer) : Buffer.concat(buffered, bufferedBytes);
      const out = emit(
        openSegment(key, header, aad, index, index === plan.count - 1, all.subarray(0, stride)),
      );
      index += 1;
      buffered = [all.subarray(stride)];
      bufferedBytes -= stride;
      if (out) yield out;
    }
  }
  if (index !== plan.last) throw integrity('the object is cut short');
  const lastSealed = Buffer.concat(buffered, bufferedBytes);
  const expected = plan.blobEnd - (plan.blobStart + (plan.last - plan.first) * stride);
  if (lastSealed.length !== expected) throw integrity('the object is cut short or too long');
  const out = emit(openSegment(key, header, aad, index, index === plan.count - 1, lastSealed));
  if (out) yield out;
  if (remaining !== 0) throw integrity('the object is cut short');
}
