import { randomUUID } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoLookup } from '../src/index.js';
import { backends, type LikesHarness, startLikes } from './harness.js';

const HIDDEN = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a03';
const NOWHERE = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0aff';

/** A stand-in for metadata: the videos it knows, one hidden from everyone; records the tokens it was asked with. */
function fakeMetadata(): VideoLookup & { videos: Set<string>; asked: string[] } {
  const videos = new Set<string>();
  const asked: string[] = [];
  return {
    videos,
    asked,
    async find(id, authorization) {
      asked.push(authorization);
      if (id === HIDDEN) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
      return videos.has(id) ? { id, title: 'A video', owner: 'bob' } : undefined;
    },
  };
}

interface Likes {
  videoId: string;
  likes: number;
  liked: boolean;
  favorited: boolean;
}

describe.each(backends())('likes on $name', ({ env }) => {
  let h: LikesHarness;
  let metadata: ReturnType<typeof fakeMetadata>;
  beforeAll(async () => {
    metadata = fakeMetadata();
    h = await startLikes(metadata, env);
  });
  afterAll(() => h?.close());

  const video = (): string => {
    const id = randomUUID();
    metadata.videos.add(id);
    return id;
  };
  const as = async (who: 'alice' | 'bob' | 'carol', method: string, path: string) =>
    h.call(await h.token(who), method, path);
  const likesOf = async (who: 'alice' | 'bob' | 'carol', id: string) => {
    const res = await as(who, 'GET', `/videos/${id}/likes`);
    expect(res.status).toBe(200);
    return (await res.json()) as Likes;
  };

  it('counts a like twice as one like, and announces it once', async () => {
    const id = video();
    expect((await as('alice', 'PUT', `/videos/${id}/like`)).status).toBe(204);
    expect((await as('alice', 'PUT', `/videos/${id}/like`)).status).toBe(204);
    expect(await likesOf('alice', id)).toEqual({ videoId: id, likes: 1, liked: true, favorited: false });
    expect(h.liked.filter((m) => m.videoId === id)).toEqual([
      { videoId: id, userId: h.subs.alice, liked: true, at: expect.any(String) },
    ]);
    // Another person sees the count, not alice's like as theirs.
    expect(await likesOf('carol', id)).toEqual({ videoId: id, likes: 1, liked: false, favorited: false });
    // metadata was asked with the person's own token.
    expect(metadata.asked.at(-1)).toMatch(/^Bearer /);
  });

  it('unlikes once, announcing liked: false; a second unlike changes nothing', async () => {
    const id = video();
    await as('alice', 'PUT', `/videos/${id}/like`);
    await as('carol', 'PUT', `/videos/${id}/like`);
    expect((await likesOf('alice', id)).likes).toBe(2);
    expect((await as('alice', 'DELETE', `/videos/${id}/like`)).status).toBe(204);
    expect((await as('alice', 'DELETE', `/videos/${id}/like`)).status).toBe(204);
    expect(await likesOf('alice', id)).toEqual({ videoId: id, likes: 1, liked: false, favorited: false });
    expect(h.liked.filter((m) => m.videoId === id && m.userId === h.subs.alice).map((m) => m.liked)).toEqual([
      true,
      false,
    ]);
  });

  it('lists the caller’s own favorites, newest first, a page at a time', async () => {
    const [a, b, c] = [video(), video(), video()];
    for (const id of [a, b, c]) expect((await as('carol', 'PUT', `/videos/${id}/favorite`)).status).toBe(204);
    await as('carol', 'PUT', `/videos/${a}/favorite`); // again: still one favorite
    await as('alice', 'PUT', `/videos/${b}/favorite`);
    const first = await as('carol', 'GET', '/favorites?limit=2');
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { favorites: Array<{ videoId: string }>; next: string | null };
    expect(page1.favorites.map((f) => f.videoId)).toEqual([c, b]);
    expect(page1.next).toEqual(expect.any(String));
    const page2 = (await (
      await as('carol', 'GET', `/favorites?limit=2&cursor=${page1.next}`)
    ).json()) as typeof page1;
    expect(page2).toEqual({ favorites: [{ videoId: a, favorited: expect.any(String) }], next: null });
    expect((await likesOf('carol', b)).favorited).toBe(true);
    // Unfavoriting takes it off the list; favorites are not likes.
    expect((await as('carol', 'DELETE', `/videos/${b}/favorite`)).status).toBe(204);
    const after = (await (await as('carol', 'GET', '/favorites')).json()) as typeof page1;
    expect(after.favorites.map((f) => f.videoId)).toEqual([c, a]);
    expect(h.liked.some((m) => [a, b, c].includes(m.videoId))).toBe(false);
  });

  it('answers 404 for a video metadata does not have, and keeps nothing', async () => {
    for (const [method, path] of [
      ['PUT', `/videos/${NOWHERE}/like`],
      ['PUT', `/videos/${NOWHERE}/favorite`],
      ['GET', `/videos/${NOWHERE}/likes`],
    ] as const) {
      const res = await as('alice', method, path);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'FLT_NOT_FOUND' });
    }
    const favorites = (await (await as('alice', 'GET', '/favorites')).json()) as { favorites: unknown[] };
    expect(favorites.favorites.some((f) => (f as { videoId: string }).videoId === NOWHERE)).toBe(false);
    expect(h.liked.some((m) => m.videoId === NOWHERE)).toBe(false);
  });

  it('refuses a video the person may not watch (403), a bad id (400), no token (401), an application (403)', async () => {
    expect((await as('alice', 'PUT', `/videos/${HIDDEN}/like`)).status).toBe(403);
    const bad = await as('alice', 'PUT', '/videos/not-a-uuid/like');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'FLT_VALIDATION' });
    expect((await h.call(undefined, 'GET', '/favorites')).status).toBe(401);
    const id = video();
    const app = await h.call(await h.clientToken(), 'PUT', `/videos/${id}/like`);
    expect(app.status).toBe(403);
    expect((await likesOf('alice', id)).likes).toBe(0);
    const cursor = await as('alice', 'GET', '/favorites?cursor=bm90LWEtY3Vyc29y');
    expect(cursor.status).toBe(400);
  });

  it('undoes a like the bus would not carry (503), so recommendations never misses one that stands', async () => {
    const id = video();
    h.failPublish = true;
    try {
      const res = await as('bob', 'PUT', `/videos/${id}/like`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'FLT_UNAVAILABLE' });
    } finally {
      h.failPublish = false;
    }
    expect(await likesOf('bob', id)).toMatchObject({ likes: 0, liked: false });
    expect((await as('bob', 'PUT', `/videos/${id}/like`)).status).toBe(204);
    expect(await likesOf('bob', id)).toMatchObject({ likes: 1, liked: true });
  });

  it('forgets a deleted video’s likes and favorites (video-deleted), again without harm', async () => {
    const [gone, kept] = [video(), video()];
    await as('alice', 'PUT', `/videos/${gone}/like`);
    await as('alice', 'PUT', `/videos/${gone}/favorite`);
    await as('alice', 'PUT', `/videos/${kept}/favorite`);
    await h.deleteVideo(gone);
    await h.deleteVideo(gone); // a redelivery
    const list = (await (await as('alice', 'GET', '/favorites?limit=100')).json()) as {
      favorites: Array<{ videoId: string }>;
    };
    expect(list.favorites.map((f) => f.videoId)).toContain(kept);
    expect(list.favorites.map((f) => f.videoId)).not.toContain(gone);
    // Were it to come back in the catalogue, it would have no likes left.
    expect(await likesOf('alice', gone)).toEqual({ videoId: gone, likes: 0, liked: false, favorited: false });
  });
});
