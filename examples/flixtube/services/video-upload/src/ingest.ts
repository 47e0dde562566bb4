import { VIDEO_UPLOADED, VideoUploaded } from '@flixtube/messages';
import { FlotillaError, type ServiceContext } from '@flotilla/kit';
import type { CatalogueEntry } from './catalogue.js';
import { declaredVideoType, peek, SNIFF_BYTES, sniffVideo, type VideoType } from './sniff.js';

export interface IngestDeps {
  ctx: Pick<ServiceContext, 'storage' | 'bus' | 'log' | 'audit'>;
  bucket: string;
}

/** One video on its way in: a user's upload, or a demo video at first start. */
export interface IngestInput {
  /** The declared `Content-Type`. */
  declared: string | undefined;
  body: AsyncIterator<Uint8Array>;
  /** The declared length, when known (storage refuses a too large file before reading it). */
  length?: number | undefined;
  /** Who the audit trail names. */
  actor: string;
  /**
   * The catalogue entry the bytes belong to, asked for once they are known to be a video:
   * an upload creates it (as the user), the demo names its seeded one.
   */
  entry(): Promise<CatalogueEntry>;
  /** Takes `entry` back when a later step fails (an upload removes its entry; the demo keeps its own). */
  undoEntry(id: string): Promise<void>;
}

export interface Ingested {
  id: string;
  title: string;
  contentType: VideoType;
  size: number;
}

/**
 * The one path a video takes in, for the upload route and the demo alike: the declared
 * type, the sniffed first bytes (a mismatch is 415 before anything is written), the
 * catalogue entry, the bytes streamed create-only into the bucket under the video's id
 * (the bucket's limit refuses a larger file while streaming, 413; an object already there
 * is 412 `FLT_PRECONDITION_FAILED`), then `video-uploaded` on the queue and an audit
 * record. A failure after the entry exists takes back what was written: nothing half-written.
 */
export async function ingestVideo(deps: IngestDeps, input: IngestInput): Promise<Ingested> {
  const declared = declaredVideoType(input.declared);
  if (!declared) throw new FlotillaError('FLT_MEDIA_TYPE', 'an upload must be video/mp4 or video/webm');
  const { head, whole } = await peek(input.body, SNIFF_BYTES);
  if (head.length === 0) throw new FlotillaError('FLT_VALIDATION', 'the upload is empty');
  const sniffed = sniffVideo(head);
  if (sniffed !== declared)
    throw new FlotillaError(
      'FLT_MEDIA_TYPE',
      sniffed
        ? `the file is ${sniffed}, not the declared ${declared}`
        : `the file is not a video (${declared} declared)`,
    );

  const entry = await input.entry();
  const { length } = input;
  let stored = false;
  try {
    const put = await deps.ctx.storage.put(deps.bucket, entry.id, whole, {
      contentType: declared,
      ifNoneMatch: '*',
      ...(length !== undefined && Number.isSafeInteger(length) ? { contentLength: length } : {}),
    });
    stored = true;
    await deps.ctx.bus.send(VIDEO_UPLOADED, VideoUploaded, {
      videoId: entry.id,
      contentType: declared,
      size: put.size,
    });
    await deps.ctx.audit({
      actor: input.actor,
      action: 'video.upload',
      target: `${deps.bucket}/${entry.id}`,
      outcome: 'success',
      details: { size: put.size, contentType: declared },
    });
    return { id: entry.id, title: entry.title, contentType: declared, size: put.size };
  } catch (err) {
    await undo(deps, input, entry.id, stored);
    throw err;
  }
}

/** Removes what a failed ingest wrote (its object, then its entry); a failure here is logged, the ingest's error stands. */
async function undo(deps: IngestDeps, input: IngestInput, id: string, stored: boolean): Promise<void> {
  if (stored)
    await deps.ctx.storage
      .delete(deps.bucket, id)
      .catch((err: unknown) =>
        deps.ctx.log.error({ err, videoId: id }, 'could not delete the object of a failed upload'),
      );
  await input
    .undoEntry(id)
    .catch((err: unknown) =>
      deps.ctx.log.error({ err, videoId: id }, 'could not delete the catalogue entry of a failed upload'),
    );
}
