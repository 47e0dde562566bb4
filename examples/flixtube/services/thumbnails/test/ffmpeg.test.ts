// The frame grab with the machine's real ffmpeg: a frame about 1 s in, the first frame of
// a shorter video, a refusal for a file that is not a video, and a missing binary.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFfmpeg, frameArgs, grabFrame, UndecodableVideo } from '../src/index.js';
import { haveFfmpeg, isJpeg, probeImage, testVideo } from './media.js';

const ffmpeg = await haveFfmpeg();
if (!ffmpeg)
  console.warn('ffmpeg is not installed: the frame grab tests are skipped (apt-get install ffmpeg)');

describe('checkFfmpeg', () => {
  it('reports a missing binary without throwing', async () => {
    expect(await checkFfmpeg('/nonexistent/ffmpeg')).toEqual({
      available: false,
      reason: '/nonexistent/ffmpeg: ENOENT',
    });
  });

  it.skipIf(!ffmpeg)('finds ffmpeg on PATH', async () => {
    expect(await checkFfmpeg('ffmpeg')).toMatchObject({
      available: true,
      version: expect.stringMatching(/^ffmpeg version/),
    });
  });
});

describe('frameArgs', () => {
  it('forces the demuxer, reads only the named file, and takes one frame', () => {
    const args = frameArgs({
      bin: 'ffmpeg',
      input: '/tmp/x/video',
      demuxer: 'webm',
      output: '/tmp/x/poster.jpg',
      atSeconds: 1,
      size: 640,
      timeoutMs: 1000,
    });
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    expect(after('-protocol_whitelist')).toBe('file');
    expect(after('-f')).toBe('webm');
    expect(after('-i')).toBe('file:/tmp/x/video');
    expect(after('-frames:v')).toBe('1');
    expect(args.at(-1)).toBe('file:/tmp/x/poster.jpg');
  });
});

describe.skipIf(!ffmpeg)('grabFrame', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thumbnails-grab-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const grab = async (name: string, bytes: Buffer, demuxer: string, atSeconds: number) => {
    const input = join(dir, name);
    await writeFile(input, bytes);
    return grabFrame({
      bin: 'ffmpeg',
      input,
      demuxer,
      output: join(dir, `${name}-${atSeconds}.jpg`),
      atSeconds,
      size: 640,
      timeoutMs: 60_000,
    });
  };

  it.each(['mp4', 'webm'] as const)('takes a JPEG frame 1 s into a %s video, 640 px wide', async (format) => {
    const jpeg = await grab(`two-seconds.${format}`, await testVideo(format, 2), format, 1);
    expect(jpeg && isJpeg(jpeg)).toBe(true);
    expect(await probeImage(jpeg as Buffer)).toEqual({ codec: 'mjpeg', width: 640, height: 480 });
  });

  it('finds no frame 1 s into a shorter video, and the first one at 0', async () => {
    const video = await testVideo('mp4', 0.5);
    expect(await grab('short.mp4', video, 'mp4', 1)).toBeUndefined();
    const first = await grab('short.mp4', video, 'mp4', 0);
    expect(first && isJpeg(first)).toBe(true);
  });

  it('refuses a file that is not a video, or not the declared container', async () => {
    await expect(grab('text.mp4', Buffer.from('just some text\n'), 'mp4', 1)).rejects.toBeInstanceOf(
      UndecodableVideo,
    );
    await expect(grab('webm-as.mp4', await testVideo('webm', 1), 'mp4', 0)).rejects.toBeInstanceOf(
      UndecodableVideo,
    );
  });
});
