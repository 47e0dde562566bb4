import { readFileSync } from 'node:fs';

/**
 * The poster of a video that has none of its own (no ffmpeg on this machine, or a file
 * ffmpeg cannot decode): a 640x360 JPEG, a grey play sign on dark grey, made once with
 * ffmpeg (see README) and shipped with the service.
 */
export const PLACEHOLDER_JPEG: Buffer = readFileSync(new URL('../assets/placeholder.jpg', import.meta.url));
