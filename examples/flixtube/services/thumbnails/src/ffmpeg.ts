import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Whether ffmpeg can be run, checked once at start. */
export type FfmpegCheck = { available: true; version: string } | { available: false; reason: string };

/** ffmpeg ran and refused the file (it exited non-zero): trying again cannot change that. */
export class UndecodableVideo extends Error {
  override readonly name = 'UndecodableVideo';
}

/** What ffmpeg wrote on stderr is kept to this many bytes (its last words are the useful ones). */
const STDERR_BYTES = 2048;

/** `-version` answers at once; a binary that does not is not ffmpeg. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * ffmpeg parses untrusted files: it gets no settings of this service (join tokens, URLs),
 * only what finding its libraries needs.
 */
const childEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' });

/**
 * Runs `<bin> -version`: available when it exits 0. A binary that is not there (or not
 * executable) is `available: false` with the reason, never a throw.
 */
export function checkFfmpeg(bin: string): Promise<FfmpegCheck> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(bin, ['-hide_banner', '-version'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: childEnv(),
      timeout: CHECK_TIMEOUT_MS,
    });
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 512) out += d.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ available: false, reason: `${bin}: ${err.code ?? err.message}` }),
    );
    child.on('close', (code, signal) =>
      resolve(
        code === 0
          ? { available: true, version: out.split('\n')[0]?.trim() ?? 'ffmpeg' }
          : {
              available: false,
              reason: `${bin} -version ${signal ? `was killed (${signal})` : `exited ${code}`}`,
            },
      ),
    );
  });
}

export interface FrameRequest {
  bin: string;
  /** The video, a local file. */
  input: string;
  /** ffmpeg's demuxer for it (`mp4`, `webm`): forced, never guessed from the content. */
  demuxer: string;
  /** Where the JPEG goes, a local file. */
  output: string;
  /** The frame's time, in seconds from the start. */
  atSeconds: number;
  /** The poster fits in a square of this many pixels, the video's aspect kept. */
  size: number;
  timeoutMs: number;
}

/** The arguments of one frame grab: no shell, every value its own argument. */
export function frameArgs(r: FrameRequest): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    // An uploaded file is untrusted: it may only be read as the named container, from the
    // named file (no playlists pulling other files or URLs).
    '-protocol_whitelist',
    'file',
    '-f',
    r.demuxer,
    '-ss',
    String(r.atSeconds),
    '-i',
    `file:${r.input}`,
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-vf',
    `scale=w=${r.size}:h=${r.size}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
    '-c:v',
    'mjpeg',
    '-q:v',
    '4',
    '-f',
    'image2',
    '-update',
    '1',
    `file:${r.output}`,
  ];
}

/**
 * One JPEG frame of the video at `atSeconds`, or undefined when the video has no frame
 * there (it is shorter). Throws UndecodableVideo when ffmpeg refuses the file, and a plain
 * Error when it could not run to its end (killed, timed out): that one is worth a retry.
 */
export async function grabFrame(r: FrameRequest): Promise<Buffer | undefined> {
  await run(r.bin, frameArgs(r), r.timeoutMs);
  const jpeg = await readFile(r.output).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return jpeg && jpeg.length > 0 ? jpeg : undefined;
}

function run(bin: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv() });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_BYTES);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`ffmpeg could not be started (${bin})`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (timedOut) reject(new Error(`ffmpeg took longer than ${timeoutMs} ms`));
      else if (signal) reject(new Error(`ffmpeg was killed (${signal})`));
      else reject(new UndecodableVideo(`ffmpeg exited ${code}: ${stderr.trim() || 'no message'}`));
    });
  });
}
