// An upload as in `flotilla up`: a real control plane, the storage service (bucket
// `videos` with the repository's bucket policy and a small limit; data keys sealed locally:
// the per-bucket KMS key is storage's own test, kms-fleet.test.ts), metadata, video-upload,
// the fleet's broker (the embedded one as its own process; RabbitMQ in a vhost of its own
// when BUS_URL is set), all with their workload identities (mTLS) and the repository's
// policies, unchanged. Stand-ins named `gateway` (the policies let it call video-upload and
// metadata), `thumbnails` (the queue's consumer) and `operator` (lists and reads the
// bucket) do what those would.
import { Readable } from 'node:stream';
import { type BusFleet, busTransports, openBusFleet, until } from '@flixtube/common/testing';
import { createMetadata } from '@flixtube/metadata';
import { VIDEO_UPLOADED, VideoUploaded } from '@flixtube/messages';
import { type MessageBody, type RunningService } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVideoUpload } from '../src/index.js';
import { startVideosBucket, tinyMp4, tinyWebm } from './fixtures.js';

/** The videos bucket's limit in this test: small, so that "over the limit" is cheap. */
const LIMIT = 64 * 1024;

describe.each(busTransports('upload-over-bus'))('an upload on $name', ({ rabbit }) => {
  let fleet: BusFleet;
  let gateway: RunningService;
  let operator: RunningService;
  let uploader: RunningService;
  let tag: string;
  const received: Array<MessageBody<typeof VideoUploaded>> = [];

  beforeAll(async () => {
    fleet = await openBusFleet('flixtube-upload', rabbit);
    tag = fleet.tag;
    await startVideosBucket(fleet, LIMIT);
    await fleet.start('metadata', createMetadata(), { inMemoryDb: true });
    uploader = await fleet.start('video-upload', createVideoUpload());
    await fleet.startBroker();
    const thumbnails = await fleet.standIn('thumbnails');
    await thumbnails.ctx.bus.consume(VIDEO_UPLOADED, VideoUploaded, async (body) => {
      received.push(body);
    });
    gateway = await fleet.standIn('gateway');
    operator = await fleet.standIn('operator');
    await fleet.ready(uploader, gateway, 'POST', '/uploads?title=ready');
  });

  afterAll(() => fleet?.stop());

  const person = (name: string, roles: string[]) => fleet.person(name, roles);

  /** An upload through the stand-in gateway, over mTLS, with the user's bearer token. */
  async function upload(
    token: string,
    title: string,
    contentType: string | undefined,
    body: Buffer | Readable,
  ) {
    const res = await gateway.ctx.call('video-upload', {
      method: 'POST',
      path: `/uploads?title=${encodeURIComponent(title)}`,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(contentType ? { 'content-type': contentType } : {}),
      },
      body,
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function catalogueTitles(token: string): Promise<string[]> {
    const res = await gateway.ctx.call('metadata', {
      method: 'GET',
      path: '/videos?limit=100',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const body = (await res.body.json()) as { videos: Array<{ title: string }> };
    return body.videos.map((v) => v.title);
  }

  async function storedKeys(): Promise<string[]> {
    return (await operator.ctx.storage.list('videos')).objects.map((o) => o.key).sort();
  }

  it("stores an admin's MP4 under its video id, catalogues it as theirs and sends video-uploaded", async () => {
    const bob = await person('bob', ['admin']);
    const video = tinyMp4(40_000);
    const res = await upload(bob, `Clip ${tag}`, 'video/mp4', video);
    expect(res).toMatchObject({
      status: 201,
      json: { title: `Clip ${tag}`, contentType: 'video/mp4', size: video.length },
    });
    const id = res.json.id as string;
    // The bytes, as stored (read back by the operator: video-upload may not read).
    const stored = await operator.ctx.storage.get('videos', id);
    expect(stored.contentType).toBe('video/mp4');
    expect(Buffer.from(await stored.body.arrayBuffer()).equals(video)).toBe(true);
    // The catalogue entry is owned by the uploader.
    const entry = await gateway.ctx.call('metadata', {
      method: 'GET',
      path: `/videos/${id}`,
      headers: { authorization: `Bearer ${bob}`, accept: 'application/json' },
    });
    expect(await entry.body.json()).toMatchObject({ id, owner: `bob-${tag}` });
    const message = await until('thumbnails receives video-uploaded', async () =>
      received.find((m) => m.videoId === id),
    );
    expect(message).toEqual({ videoId: id, contentType: 'video/mp4', size: video.length });
  });

  it("takes an uploader's WebM streamed without a length (chunked)", async () => {
    const uma = await person('uma', ['uploader']);
    const video = tinyWebm(30_000);
    const chunks = [video.subarray(0, 2), video.subarray(2, 10_000), video.subarray(10_000)];
    const res = await upload(uma, `Webm ${tag}`, 'video/webm', Readable.from(chunks));
    expect(res).toMatchObject({ status: 201, json: { contentType: 'video/webm', size: video.length } });
    const id = res.json.id as string;
    expect(await storedKeys()).toContain(id);
    await until('thumbnails receives video-uploaded', async () => received.find((m) => m.videoId === id));
  });

  it.each([
    ['a viewer', ['viewer'], 'video/mp4', () => tinyMp4(), 403, 'FLT_FORBIDDEN'],
    [
      'a renamed text file',
      ['admin'],
      'video/mp4',
      () => Buffer.from('just some text, renamed to .mp4\n'),
      415,
      'FLT_MEDIA_TYPE',
    ],
    ['WebM bytes declared as MP4', ['admin'], 'video/mp4', () => tinyWebm(), 415, 'FLT_MEDIA_TYPE'],
    ['MP4 bytes declared as WebM', ['uploader'], 'video/webm', () => tinyMp4(), 415, 'FLT_MEDIA_TYPE'],
    ['a declared type that is not a video', ['admin'], 'text/plain', () => tinyMp4(), 415, 'FLT_MEDIA_TYPE'],
    ['no declared type', ['admin'], undefined, () => tinyMp4(), 415, 'FLT_MEDIA_TYPE'],
    ['an empty body', ['admin'], 'video/mp4', () => Buffer.alloc(0), 400, 'FLT_VALIDATION'],
    [
      'a file over the bucket limit (declared length)',
      ['admin'],
      'video/mp4',
      () => tinyMp4(LIMIT + 1),
      413,
      'FLT_BODY_TOO_LARGE',
    ],
    [
      'a file over the bucket limit (chunked, refused while streaming)',
      ['admin'],
      'video/mp4',
      () => Readable.from([tinyMp4(LIMIT / 2), Buffer.alloc(LIMIT, 1)]),
      413,
      'FLT_BODY_TOO_LARGE',
    ],
  ] as const)('refuses %s and stores nothing', async (what, roles, type, body, status, code) => {
    const token = await person(`p${roles[0]}`, [...roles]);
    const admin = await person('bob', ['admin']);
    const before = await storedKeys();
    const title = `Refused ${what} ${tag}`;
    const res = await upload(token, title, type, body());
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ status, code });
    // Nothing half-written: no object, no catalogue entry, no message.
    expect(await storedKeys()).toEqual(before);
    expect(await catalogueTitles(admin)).not.toContain(title);
  });

  it('sent video-uploaded only for the uploads that were stored', async () => {
    const keys = await storedKeys();
    expect(received.length).toBeGreaterThanOrEqual(2);
    for (const m of received) expect(keys).toContain(m.videoId);
  });

  it('refuses what the policies do not grant: video-upload may not read the bucket or consume its queue', async () => {
    const key = (await storedKeys())[0] as string;
    await expect(uploader.ctx.storage.get('videos', key)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(uploader.ctx.storage.list('videos')).rejects.toMatchObject({ code: 'FLT_POLICY_DENIED' });
    await expect(
      uploader.ctx.bus.consume(VIDEO_UPLOADED, VideoUploaded, async () => undefined),
    ).rejects.toMatchObject({ code: 'FLT_POLICY_DENIED' });
  });

  it('deletes the object when metadata announces video-deleted: the video is gone from storage too', async () => {
    const bob = await person('bob', ['admin']);
    const res = await upload(bob, `To delete ${tag}`, 'video/mp4', tinyMp4(2_000));
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    expect(await storedKeys()).toContain(id);
    const deleted = await gateway.ctx.call('metadata', {
      method: 'DELETE',
      path: `/videos/${id}`,
      headers: { authorization: `Bearer ${bob}`, accept: 'application/json' },
    });
    await deleted.body.dump();
    expect(deleted.statusCode).toBe(204);
    await until('video-upload deletes the object', async () =>
      (await storedKeys()).includes(id) ? undefined : true,
    );
    await expect(operator.ctx.storage.get('videos', id)).rejects.toMatchObject({ code: 'FLT_NOT_FOUND' });
  });
});
