import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startMetadata } from './harness.js';

const NOWHERE = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0aff';

describe('POST /views publishes viewed', () => {
  let h: Harness;
  let videoId: string;
  beforeAll(async () => {
    h = await startMetadata();
    const res = await h.call(await h.token('bob'), 'POST', '/videos', { title: 'Cats' });
    videoId = ((await res.json()) as { id: string }).id;
  });
  afterAll(() => h?.close());

  it('checks the video and publishes the view as the token’s subject: 202', async () => {
    const res = await h.call(await h.token('alice'), 'POST', '/views', { videoId });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { videoId: string; viewed: string };
    expect(body.videoId).toBe(videoId);
    expect(h.viewed.at(-1)).toEqual({ videoId, userId: h.subs.alice, at: body.viewed });
  });

  it('publishes nothing for a video that does not exist: 404', async () => {
    const before = h.viewed.length;
    expect((await h.call(await h.token('alice'), 'POST', '/views', { videoId: NOWHERE })).status).toBe(404);
    expect(h.viewed).toHaveLength(before);
  });

  it.each([
    [{}, 'body/videoId'],
    [{ videoId: 'cats' }, 'body/videoId'],
    [{ videoId: NOWHERE, userId: 'bob' }, 'body/userId'],
  ])('refuses %j with a 400 naming %s, publishing nothing', async (input, field) => {
    const before = h.viewed.length;
    const res = await h.call(await h.token('alice'), 'POST', '/views', input);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(field);
    expect(h.viewed).toHaveLength(before);
  });

  it('refuses an application acting for itself, and a missing token', async () => {
    const before = h.viewed.length;
    const app = await h.issuer.token('flixtube-web');
    expect((await h.call(app, 'POST', '/views', { videoId })).status).toBe(403);
    expect((await h.call(undefined, 'POST', '/views', { videoId })).status).toBe(401);
    expect(h.viewed).toHaveLength(before);
  });
});
