// Without ffmpeg (FFMPEG_PATH pointing at nothing) the worker still runs: one warning at
// start, and every poster is the shipped placeholder. The videos need no ffmpeg here.
import { Writable } from 'node:stream';
import { until } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLACEHOLDER_JPEG } from '../src/index.js';
import { type PosterFleet, startPosterFleet } from './fleet.js';
import { isJpeg } from './media.js';

describe('thumbnails without ffmpeg', () => {
  let fleet: PosterFleet;
  const lines: Array<{ level: number; msg: string }> = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });

  beforeAll(async () => {
    fleet = await startPosterFleet({ ffmpegPath: '/nonexistent/bin/ffmpeg', logStream });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('writes the placeholder poster for every upload and warns once, at start', async () => {
    // Not decodable anyway: without ffmpeg the bytes are never looked at.
    const a = await fleet.upload(Buffer.from('\0\0\0\x18ftypisom-a'), 'video/mp4');
    const b = await fleet.upload(Buffer.from('\x1aE\xdf\xa3-b'), 'video/webm');
    for (const id of [a, b]) {
      const res = await fleet.posterOf(id);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(isJpeg(res.body)).toBe(true);
      expect(res.body.equals(PLACEHOLDER_JPEG)).toBe(true);
    }
    const warnings = lines.filter((l) => l.level === 40 && /ffmpeg/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/ffmpeg is not available/);
    // And nothing crashed: the deletion still works.
    await fleet.deleteVideo(a);
    await until('the placeholder poster is deleted', async () =>
      (await fleet.poster(a)).status === 404 ? true : undefined,
    );
  });
});
