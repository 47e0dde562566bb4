import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FlotillaError, type ServiceContext } from '@flotilla/kit';
import { grabFrame, UndecodableVideo } from './ffmpeg.js';
import { PLACEHOLDER_JPEG } from './placeholder.js';

/** A poster: ffmpeg's frame, or the shipped placeholder (and why). */
export interface Poster {
  jpeg: Buffer;
  placeholder?: 'no-ffmpeg' | 'undecodable';
}

export interface PosterMakerOptions {
  storage: ServiceContext['storage'];
  log: ServiceContext['log'];
  videosBucket: string;
  /** The ffmpeg binary, or undefined when there is none (every poster is the placeholder). */
  ffmpeg: string | undefined;
  size: number;
  timeoutMs: number;
}

/** The demuxer ffmpeg must use for each type video-upload takes; anything else is not decoded. */
const DEMUXERS: Record<string, string> = { 'video/mp4': 'mp4', 'video/webm': 'webm' };

/** The frame taken: about one second in; the first frame when the video is shorter. */
const FRAME_TIMES = [1, 0];

/**
 * Makes the poster of `videoId`, or returns undefined when the video is no longer in the
 * bucket (deleted before its turn came: there is nothing to make a poster of). The video
 * is streamed to a private temporary folder (ffmpeg needs a seekable file: an MP4 may keep
 * its index at the end), and the folder is removed afterwards, whatever happens.
 * A file ffmpeg refuses gets the placeholder; a read or run that failed midway throws,
 * so the bus tries the message again (and dead-letters it after its last try).
 */
export function posterMaker(opts: PosterMakerOptions) {
  const { storage, log, videosBucket } = opts;

  async function exists(videoId: string): Promise<boolean> {
    return storage.head(videosBucket, videoId).then(
      () => true,
      (err: unknown) => {
        if (err instanceof FlotillaError && err.code === 'FLT_NOT_FOUND') return false;
        throw err;
      },
    );
  }

  async function fromVideo(
    ffmpeg: string,
    videoId: string,
    contentType: string,
  ): Promise<Poster | undefined> {
    const demuxer = DEMUXERS[contentType];
    if (!demuxer) {
      log.error({ videoId, contentType }, 'not a type thumbnails decodes: placeholder poster');
      return (await exists(videoId)) ? { jpeg: PLACEHOLDER_JPEG, placeholder: 'undecodable' } : undefined;
    }
    const dir = await mkdtemp(join(tmpdir(), 'flixtube-thumbnails-'));
    try {
      const input = join(dir, 'video');
      let video;
      try {
        video = await storage.get(videosBucket, videoId);
      } catch (err) {
        if (err instanceof FlotillaError && err.code === 'FLT_NOT_FOUND') return undefined;
        throw err;
      }
      await pipeline(video.body, createWriteStream(input, { mode: 0o600 }));
      for (const [i, atSeconds] of FRAME_TIMES.entries()) {
        const output = join(dir, `poster-${i}.jpg`);
        const jpeg = await grabFrame({
          bin: ffmpeg,
          input,
          demuxer,
          output,
          atSeconds,
          size: opts.size,
          timeoutMs: opts.timeoutMs,
        });
        if (jpeg) return { jpeg };
      }
      throw new UndecodableVideo('ffmpeg found no frame to take');
    } catch (err) {
      if (!(err instanceof UndecodableVideo)) throw err;
      log.error(
        { videoId, contentType, reason: err.message },
        'ffmpeg cannot decode the video: placeholder poster',
      );
      return { jpeg: PLACEHOLDER_JPEG, placeholder: 'undecodable' };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    async make(videoId: string, contentType: string): Promise<Poster | undefined> {
      if (opts.ffmpeg) return fromVideo(opts.ffmpeg, videoId, contentType);
      return (await exists(videoId)) ? { jpeg: PLACEHOLDER_JPEG, placeholder: 'no-ffmpeg' } : undefined;
    },
  };
}

export type PosterMaker = ReturnType<typeof posterMaker>;
