import { fileURLToPath } from 'node:url';

/** One of the videos a fresh FlixTube starts with. */
export interface DemoVideo {
  /** Fixed, so seeding is idempotent: a restart finds the entry (metadata) and the object (storage). */
  id: string;
  title: string;
  description: string;
  /** The fixture's absolute path (examples/flixtube/demo; how each was made: its README). */
  file: string;
  contentType: 'video/webm';
}

const fixture = (name: string) => fileURLToPath(new URL(`../../demo/${name}`, import.meta.url));

/**
 * FlixTube's demo catalogue: metadata adds the entries (`METADATA_SEED`), video-upload
 * stores the bytes (`UPLOAD_DEMO`) through the path a user's upload takes. One list, so
 * both ends agree on the ids.
 */
export const DEMO_VIDEOS: readonly DemoVideo[] = Object.freeze([
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a01',
    title: 'Welcome to FlixTube: the test pattern',
    description: "Six seconds of ffmpeg's testsrc2: colours, a moving gradient and a frame counter.",
    file: fixture('test-pattern.webm'),
    contentType: 'video/webm',
  },
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a02',
    title: 'A Mandelbrot zoom',
    description: "Six seconds into the Mandelbrot set, drawn by ffmpeg's mandelbrot source.",
    file: fixture('mandelbrot.webm'),
    contentType: 'video/webm',
  },
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a03',
    title: "Conway's Game of Life",
    description: "Six seconds of cells living and dying, from ffmpeg's life source.",
    file: fixture('game-of-life.webm'),
    contentType: 'video/webm',
  },
]);
