// A failure that may pass is not swallowed: with the posters bucket missing (a
// misconfigured fleet) every poster write fails, so the bus tries the message again and
// then dead-letters it, for the operator to replay once the fleet is fixed; the worker
// does not crash. (A video ffmpeg cannot decode is not such a failure: it gets the
// placeholder, see thumbnails-over-bus.test.ts.)
import { decodeEnvelope } from '@flotilla/kit';
import { until } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busTransports, type PosterFleet, startPosterFleet } from './fleet.js';

const transports = busTransports('thumbnails dead-letter');

describe.each(transports)('a poster that cannot be written, on $name', ({ busUrl }) => {
  let fleet: PosterFleet;

  beforeAll(async () => {
    fleet = await startPosterFleet({ withoutPosters: true, ...(busUrl ? { busUrl } : {}) });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('is tried again, then dead-lettered with the error; the worker keeps serving', async () => {
    // Not decodable: the placeholder is written (or tried), with or without ffmpeg here.
    const id = await fleet.upload(Buffer.from('\0\0\0\x18ftypisom, not a video'), 'video/mp4');
    // The queue's consumer may read its dead letters (bus:Consume); an operator uses
    // `flotilla bus dead-letters video-uploaded`.
    const transport = await fleet.thumbnails.ctx.bus.transport();
    const letter = await until('the message is dead-lettered', async () =>
      (await transport.deadLetters({ queue: 'video-uploaded' }, 50)).find(
        (d) => (decodeEnvelope(d.bytes).body as { videoId?: string }).videoId === id,
      ),
    );
    expect(letter.reason).toMatch(/^handler failed 5 times; last error: /);
    // Still up: the route answers (no poster: storage has no such bucket to find it in).
    expect((await fleet.poster(id)).status).toBe(404);
  });
});
