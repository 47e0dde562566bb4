// Real media for the tests, made and checked with the machine's ffmpeg and ffprobe.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether ffmpeg and ffprobe run here (.ci/run installs them; a developer may not have them). */
export async function haveFfmpeg(): Promise<boolean> {
  try {
    await run('ffmpeg', ['-hide_banner', '-version']);
    await run('ffprobe', ['-hide_banner', '-version']);
    return true;
  } catch {
    return false;
  }
}

/** A test-pattern video (10 fps, 320x240 unless `size`) of `seconds`, as MP4 (H.264) or WebM (VP9). */
export async function testVideo(format: 'mp4' | 'webm', seconds = 2, size = '320x240'): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'thumbnails-video-'));
  try {
    const file = join(dir, `video.${format}`);
    const codec = format === 'mp4' ? ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] : ['-c:v', 'libvpx-vp9'];
    await run('ffmpeg', [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', `testsrc=duration=${seconds}:size=${size}:rate=10`, ...codec, file],
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What ffprobe says an image is: its codec and size. */
export async function probeImage(bytes: Buffer): Promise<{ codec: string; width: number; height: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'thumbnails-probe-'));
  try {
    const file = join(dir, 'image');
    await writeFile(file, bytes);
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=codec_name,width,height', '-of', 'json', file],
    ]);
    const stream = (
      JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number }> }
    ).streams[0];
    if (!stream) throw new Error('ffprobe found no image');
    return { codec: stream.codec_name, width: stream.width, height: stream.height };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A JPEG starts with the SOI marker and a marker byte. */
export const isJpeg = (bytes: Buffer) =>
  bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
