/** The media types video-upload takes, and the signature each file must start with. */
export const VIDEO_TYPES = ['video/mp4', 'video/webm'] as const;
export type VideoType = (typeof VIDEO_TYPES)[number];

/** Bytes needed to tell the types apart: an MP4 `ftyp` box type sits at offset 4..8. */
export const SNIFF_BYTES = 8;

const FTYP = Buffer.from('ftyp', 'latin1');
const EBML = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

/**
 * What the first bytes of a file say it is: MP4 (ISO BMFF, whose first box is `ftyp`) or
 * WebM (Matroska's EBML header magic), else undefined. Only the signature is checked; the
 * container is not parsed (the thumbnails worker's ffmpeg finds a broken one later).
 */
export function sniffVideo(head: Uint8Array): VideoType | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length >= 8 && bytes.subarray(4, 8).equals(FTYP)) return 'video/mp4';
  if (bytes.length >= 4 && bytes.subarray(0, 4).equals(EBML)) return 'video/webm';
  return undefined;
}

/** The declared type without parameters, lower-cased, if it is one video-upload takes. */
export function declaredVideoType(contentType: string | undefined): VideoType | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return VIDEO_TYPES.find((t) => t === type);
}

/**
 * Reads the first `n` bytes of a stream (fewer if it ends first) and gives back a stream
 * of the whole, those bytes first: the sniffing holds at most one chunk, never the file.
 */
export async function peek(
  source: AsyncIterator<Uint8Array>,
  n: number,
): Promise<{ head: Buffer; whole: AsyncIterable<Uint8Array> }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const next = await source.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks, length);
  async function* whole(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head: head.subarray(0, Math.min(n, head.length)), whole: whole() };
}
