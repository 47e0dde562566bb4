import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { DemoVideo } from '@flixtube/common';
import { FlotillaError } from '@flotilla/kit';
import { type IngestDeps, ingestVideo } from './ingest.js';

export interface DemoSeedOptions {
  /** The first wait after a failure that may pass (storage or the bus not up yet); doubles. Default 500 ms. */
  initialDelayMs?: number;
  /** Tries per video before giving up on it. Default 8 (about a minute in all). */
  attempts?: number;
  /** Stops the retries (the service is closing). */
  signal?: AbortSignal;
}

export interface DemoSeedResult {
  stored: string[];
  present: string[];
  failed: string[];
}

/**
 * Stores the demo catalogue's videos (their entries are metadata's, seeded with the same
 * fixed ids) through the path a user's upload takes: sniffed, written create-only to the
 * bucket, announced as `video-uploaded`. A video whose object is there already (412: a
 * restart) is left alone, so seeding is idempotent and sends nothing twice. Logs one line.
 */
export async function seedDemoVideos(
  deps: IngestDeps,
  videos: readonly DemoVideo[],
  opts: DemoSeedOptions = {},
): Promise<DemoSeedResult> {
  const result: DemoSeedResult = { stored: [], present: [], failed: [] };
  for (const video of videos) {
    if (opts.signal?.aborted) break;
    const outcome = await withRetries(() => storeDemoVideo(deps, video), opts).catch((err: unknown) => {
      deps.ctx.log.warn({ err, videoId: video.id }, 'demo video not stored');
      return 'failed' as const;
    });
    result[outcome].push(video.id);
  }
  deps.ctx.log.info(
    { stored: result.stored.length, present: result.present.length, failed: result.failed.length },
    'demo videos: stored those missing from the bucket',
  );
  return result;
}

async function storeDemoVideo(deps: IngestDeps, video: DemoVideo): Promise<'stored' | 'present'> {
  const { size } = await stat(video.file);
  try {
    await ingestVideo(deps, {
      declared: video.contentType,
      body: createReadStream(video.file)[Symbol.asyncIterator](),
      length: size,
      actor: 'video-upload',
      entry: async () => ({ id: video.id, title: video.title }),
      // The entry is metadata's seed, not ours to remove.
      undoEntry: async () => undefined,
    });
    return 'stored';
  } catch (err) {
    if (err instanceof FlotillaError && err.code === 'FLT_PRECONDITION_FAILED') return 'present';
    throw err;
  }
}

/** Tries `work` again after a retryable failure (a dependency not up yet), with doubling waits. */
async function withRetries<T>(work: () => Promise<T>, opts: DemoSeedOptions): Promise<T> {
  const attempts = opts.attempts ?? 8;
  let delay = opts.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const retryable = err instanceof FlotillaError && err.retryable;
      if (!retryable || attempt >= attempts || opts.signal?.aborted) throw err;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        opts.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      delay = Math.min(delay * 2, 15_000);
    }
  }
}
