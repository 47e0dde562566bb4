// The demo catalogue at first start, as in `flotilla up` (UPLOAD_DEMO on): a real control
// plane, storage (the bucket `videos` with the repository's bucket policy), video-upload
// and the fleet's broker, with the repository's policies unchanged. video-upload stores the
// shipped fixtures through the upload path (sniffed, create-only, `video-uploaded`), in the
// background, and a restart stores nothing twice.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_VIDEOS, type DemoVideo } from '@flixtube/common';
import { type BusFleet, busTransports, openBusFleet, until } from '@flixtube/common/testing';
import { VIDEO_UPLOADED, VideoUploaded } from '@flixtube/messages';
import type { MessageBody, RunningService } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVideoUpload } from '../src/index.js';
import type { DemoSeedResult } from '../src/demo-seed.js';
import { startVideosBucket } from './fixtures.js';

describe.each(busTransports('demo-seed'))('the demo videos on $name', ({ rabbit }) => {
  let fleet: BusFleet;
  let operator: RunningService;
  const received: Array<MessageBody<typeof VideoUploaded>> = [];

  /** Starts video-upload with the demo on; resolves with the service and, later, its seeding's result. */
  async function startUploader(videos: readonly DemoVideo[] = DEMO_VIDEOS) {
    let seeded!: (result: DemoSeedResult) => void;
    const result = new Promise<DemoSeedResult>((resolve) => (seeded = resolve));
    const service = await fleet.start(
      'video-upload',
      createVideoUpload({ demoVideos: videos, onDemoSeeded: seeded }),
      { env: { UPLOAD_DEMO: 'true' } },
    );
    return { service, result };
  }

  beforeAll(async () => {
    fleet = await openBusFleet('flixtube-demo', rabbit);
    await startVideosBucket(fleet, 4 * 1024 * 1024);
    await fleet.startBroker();
    const thumbnails = await fleet.standIn('thumbnails');
    await thumbnails.ctx.bus.consume(VIDEO_UPLOADED, VideoUploaded, async (body) => {
      received.push(body);
    });
    operator = await fleet.standIn('operator');
  });

  afterAll(() => fleet?.stop());

  it('stores each demo video under its fixed id, as shipped, and sends video-uploaded for each', async () => {
    const { result } = await startUploader();
    expect(await result).toEqual({ stored: DEMO_VIDEOS.map((v) => v.id), present: [], failed: [] });
    for (const video of DEMO_VIDEOS) {
      const stored = await operator.ctx.storage.get('videos', video.id);
      expect(stored.contentType).toBe('video/webm');
      const bytes = Buffer.from(await stored.body.arrayBuffer());
      expect(bytes.equals(await readFile(video.file))).toBe(true);
    }
    const messages = await until('thumbnails receives the three video-uploaded', async () =>
      received.length >= DEMO_VIDEOS.length ? received : undefined,
    );
    expect(messages.map((m) => m.videoId).sort()).toEqual(DEMO_VIDEOS.map((v) => v.id).sort());
    expect(messages.every((m) => m.contentType === 'video/webm' && m.size > 0)).toBe(true);
  });

  it('stores nothing twice after a restart: the objects are there, no message is sent again', async () => {
    const first = fleet.services('video-upload');
    for (const s of first) await s.stop();
    const { result } = await startUploader();
    expect(await result).toEqual({ stored: [], present: DEMO_VIDEOS.map((v) => v.id), failed: [] });
    expect(received).toHaveLength(DEMO_VIDEOS.length);
  });

  it('refuses a demo file that is not a video, as an upload would: nothing stored, nothing sent', async () => {
    const file = join(fleet.home, 'not-a-video.webm');
    await writeFile(file, 'just some text, renamed to .webm\n');
    const bogus: DemoVideo = {
      id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9aff',
      title: 'Not a video',
      description: '',
      file,
      contentType: 'video/webm',
    };
    for (const s of fleet.services('video-upload')) await s.stop();
    const { result } = await startUploader([bogus]);
    expect(await result).toEqual({ stored: [], present: [], failed: [bogus.id] });
    await expect(operator.ctx.storage.get('videos', bogus.id)).rejects.toMatchObject({
      code: 'FLT_NOT_FOUND',
    });
    expect(received).toHaveLength(DEMO_VIDEOS.length);
  });
});
