// The thumbnails worker on the fleet's bus (the embedded broker; RabbitMQ too when BUS_URL
// is set): real videos made with ffmpeg go in as video-upload would put them, posters come
// out of the route, video-deleted takes them away. The policies are the repository's.
import { randomUUID } from 'node:crypto';
import { VIDEO_UPLOADED, VideoUploaded } from '@flixtube/messages';
import { until } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLACEHOLDER_JPEG } from '../src/index.js';
import { busTransports, type PosterFleet, startPosterFleet } from './fleet.js';
import { haveFfmpeg, isJpeg, probeImage, testVideo } from './media.js';

const ffmpeg = await haveFfmpeg();
if (!ffmpeg) console.warn('ffmpeg is not installed: the poster tests are skipped (apt-get install ffmpeg)');
const transports = busTransports('thumbnails-over-bus');

describe.skipIf(!ffmpeg).each(transports)('posters on $name', ({ busUrl }) => {
  let fleet: PosterFleet;

  beforeAll(async () => {
    fleet = await startPosterFleet(busUrl ? { busUrl } : {});
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it.each([
    ['mp4', 'video/mp4'],
    ['webm', 'video/webm'],
  ] as const)('makes a %s upload a 640 px JPEG poster, served private and nosniff', async (format, type) => {
    const id = await fleet.upload(await testVideo(format, 2), type);
    const res = await fleet.posterOf(id);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['cache-control']).toMatch(/^private\b/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(isJpeg(res.body)).toBe(true);
    expect(await probeImage(res.body)).toEqual({ codec: 'mjpeg', width: 640, height: 480 });
    expect(res.body.equals(PLACEHOLDER_JPEG)).toBe(false);
  });

  it('takes the first frame of a video shorter than a second', async () => {
    const id = await fleet.upload(await testVideo('mp4', 0.5), 'video/mp4');
    const res = await fleet.posterOf(id);
    expect(await probeImage(res.body)).toMatchObject({ codec: 'mjpeg', width: 640 });
  });

  it('gives a file ffmpeg cannot decode the placeholder poster (no crash, no retries)', async () => {
    const id = await fleet.upload(Buffer.from('\0\0\0\x18ftypisom, and then just some text'), 'video/mp4');
    const res = await fleet.posterOf(id);
    expect(res.body.equals(PLACEHOLDER_JPEG)).toBe(true);
    // The worker is still there: the next upload gets its own poster.
    const next = await fleet.upload(await testVideo('webm', 1), 'video/webm');
    expect(isJpeg((await fleet.posterOf(next)).body)).toBe(true);
  });

  it('writes over the poster when video-uploaded comes again for the video (a redelivery is harmless)', async () => {
    const id = await fleet.upload(await testVideo('mp4', 2), 'video/mp4');
    const first = await fleet.posterOf(id);
    expect(await probeImage(first.body)).toMatchObject({ width: 640, height: 480 });
    // The same video id again, now a wide video: the poster is replaced, not refused.
    await fleet.upload(await testVideo('mp4', 2, '640x360'), 'video/mp4', id);
    const second = await until('the poster is written again', async () => {
      const res = await fleet.poster(id);
      return res.status === 200 && res.headers.etag !== first.headers.etag ? res : undefined;
    });
    expect(await probeImage(second.body)).toEqual({ codec: 'mjpeg', width: 640, height: 360 });
  });

  it('deletes the poster on video-deleted', async () => {
    const id = await fleet.upload(await testVideo('mp4', 1), 'video/mp4');
    await fleet.posterOf(id);
    await fleet.deleteVideo(id);
    const gone = await until('the poster is deleted', async () => {
      const res = await fleet.poster(id);
      return res.status === 404 ? res : undefined;
    });
    expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(gone.json()).toMatchObject({ status: 404, code: 'FLT_NOT_FOUND' });
  });

  it('answers 404 problem+json for a video without a poster, 400 for an id that is not one, 401 without a token', async () => {
    const none = await fleet.poster(randomUUID());
    expect(none.status).toBe(404);
    expect(none.json()).toMatchObject({
      code: 'FLT_NOT_FOUND',
      detail: expect.stringContaining('no poster yet'),
    });
    const bad = await fleet.poster('..%2Fvideos%2Fx');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ status: 400, code: 'FLT_VALIDATION' });
    expect((await fleet.poster(randomUUID(), null)).status).toBe(401);
  });

  it('refuses what the policies do not grant', async () => {
    const id = await fleet.upload(await testVideo('mp4', 1), 'video/mp4');
    await fleet.posterOf(id);
    const { thumbnails, uploader, metadata } = fleet;
    const denied = { code: 'FLT_POLICY_DENIED' };
    // thumbnails reads the videos, never writes, deletes or lists them.
    await expect(
      thumbnails.ctx.storage.put('videos', id, 'x', { contentType: 'video/mp4' }),
    ).rejects.toMatchObject(denied);
    await expect(thumbnails.ctx.storage.delete('videos', id)).rejects.toMatchObject(denied);
    await expect(thumbnails.ctx.storage.list('videos')).rejects.toMatchObject(denied);
    // Only thumbnails touches the posters.
    await expect(uploader.ctx.storage.get('posters', `${id}.jpg`)).rejects.toMatchObject(denied);
    await expect(
      uploader.ctx.storage.put('posters', `${id}.jpg`, 'x', { contentType: 'image/jpeg' }),
    ).rejects.toMatchObject(denied);
    await expect(metadata.ctx.storage.delete('posters', `${id}.jpg`)).rejects.toMatchObject(denied);
    // thumbnails consumes video-uploaded; it may not send it.
    await expect(
      thumbnails.ctx.bus.send(VIDEO_UPLOADED, VideoUploaded, {
        videoId: id,
        contentType: 'video/mp4',
        size: 1,
      }),
    ).rejects.toMatchObject(denied);
  });
});
