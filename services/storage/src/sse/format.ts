import { FlotillaError } from '@flotilla/kit';

/**
 * The encrypted object format (Tink's streaming AEAD, AES-GCM-HKDF-free variant: the data
 * key is already per object):
 *
 *   header  = "FLOS" ‖ version (1 byte) ‖ segment size (uint32 BE) ‖ nonce prefix (7 bytes)
 *             ‖ sealed key length (uint16 BE) ‖ sealed data key (UTF-8)
 *   segment = AES-256-GCM(plaintext ≤ segment size) ‖ tag (16 bytes)
 *
 * Nonce of segment i = prefix ‖ i (uint32 BE) ‖ 1 if it is the last segment else 0: a
 * truncated object (no segment marked last where one should be), reordered segments
 * (wrong index) or a changed byte fail authentication. The AAD binds bucket, key, blob
 * (version) id and the segment index, so a blob moved under another name fails too.
 */
export const MAGIC = Buffer.from('FLOS');
export const FORMAT_VERSION = 1;
export const SEGMENT_SIZE = 64 * 1024;
export const TAG_BYTES = 16;
export const NONCE_PREFIX_BYTES = 7;
const FIXED_HEADER = MAGIC.length + 1 + 4 + NONCE_PREFIX_BYTES + 2;

export interface ObjectHeader {
  segmentSize: number;
  noncePrefix: Buffer;
  sealedKey: string;
}

export function encodeHeader(h: ObjectHeader): Buffer {
  const sealed = Buffer.from(h.sealedKey, 'utf8');
  const out = Buffer.alloc(FIXED_HEADER + sealed.length);
  MAGIC.copy(out, 0);
  out.writeUInt8(FORMAT_VERSION, 4);
  out.writeUInt32BE(h.segmentSize, 5);
  h.noncePrefix.copy(out, 9);
  out.writeUInt16BE(sealed.length, 9 + NONCE_PREFIX_BYTES);
  sealed.copy(out, FIXED_HEADER);
  return out;
}

/** Length of the header that starts `head` (which must hold at least the fixed part). */
export function headerLength(head: Buffer): number {
  if (head.length < FIXED_HEADER) throw integrity('the object header is cut short');
  return FIXED_HEADER + head.readUInt16BE(9 + NONCE_PREFIX_BYTES);
}

export function decodeHeader(bytes: Buffer): ObjectHeader {
  if (bytes.length < FIXED_HEADER || !bytes.subarray(0, 4).equals(MAGIC))
    throw integrity('the object does not start with a Flotilla header');
  if (bytes.readUInt8(4) !== FORMAT_VERSION) throw integrity('unknown object format version');
  const segmentSize = bytes.readUInt32BE(5);
  if (segmentSize !== SEGMENT_SIZE) throw integrity('unexpected segment size');
  const len = headerLength(bytes);
  if (bytes.length < len) throw integrity('the object header is cut short');
  return {
    segmentSize,
    noncePrefix: Buffer.from(bytes.subarray(9, 9 + NONCE_PREFIX_BYTES)),
    sealedKey: bytes.subarray(FIXED_HEADER, len).toString('utf8'),
  };
}

/** Segments of a plaintext of `size` bytes: at least one (an empty object has one empty last segment). */
export function segmentCount(size: number, segmentSize = SEGMENT_SIZE): number {
  return Math.max(1, Math.ceil(size / segmentSize));
}

/** Size of the stored blob of a `size`-byte plaintext under a header of `header` bytes. */
export function blobSize(size: number, header: number, segmentSize = SEGMENT_SIZE): number {
  return header + size + segmentCount(size, segmentSize) * TAG_BYTES;
}

export function integrity(detail: string, cause?: unknown): FlotillaError {
  return new FlotillaError('FLT_OBJECT_INTEGRITY', detail, { cause, retryable: false });
}
