import type { Readable } from 'node:stream';

/**
 * Where encrypted blobs live. A blob is written once under a fresh name and never
 * changed: an overwrite is a new blob, then a metadata row pointing at it, then the old
 * blob removed. So a crash leaves the old object or the new one, never a mix.
 */
export interface BlobBackend {
  readonly kind: 'disk' | 's3';
  /** Writes a blob from its chunks; resolves once it is durable. On any failure nothing stays behind. */
  write(name: string, chunks: AsyncIterable<Buffer>): Promise<void>;
  /** Bytes `[start, end)` of a blob. */
  read(name: string, start: number, end: number): Readable;
  /** Removes a blob; a missing one is not an error. */
  delete(name: string): Promise<void>;
  /** Every blob name (the orphan sweep at start compares them with the metadata). */
  names(): AsyncIterable<string>;
  /** Removes what interrupted writes left (temporary files, unfinished uploads). */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}
