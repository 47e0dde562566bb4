import { Type, userAccessSettings } from '@flotilla/kit';

const bucket = (what: string, fallback: string) =>
  Type.String({ default: fallback, minLength: 3, maxLength: 63, description: what });

/** thumbnails' settings on top of the kit's, read from the environment. */
export const thumbnailsConfig = Type.Object({
  ...userAccessSettings,
  VIDEOS_BUCKET: bucket('the bucket the videos are read from (object key: the video id)', 'videos'),
  POSTERS_BUCKET: bucket('the bucket the posters are written to (object key: <videoId>.jpg)', 'posters'),
  FFMPEG_PATH: Type.String({
    default: 'ffmpeg',
    minLength: 1,
    description: 'the ffmpeg binary (a name looked up on PATH, or a path); missing: placeholder posters',
  }),
  POSTER_WIDTH: Type.Integer({
    minimum: 16,
    maximum: 1920,
    default: 640,
    description: "the poster's size: it fits in a square of this many pixels (a landscape video: this wide)",
  }),
  FFMPEG_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    default: 60_000,
    description: 'the longest one ffmpeg run may take before it is killed (the message is then retried)',
  }),
});
