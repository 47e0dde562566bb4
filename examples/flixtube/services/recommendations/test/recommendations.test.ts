import { randomUUID } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoLookup } from '../src/index.js';
import { backends, type RecommendationsHarness, startRecommendations } from './harness.js';

/** A stand-in for metadata: the videos this run made (titled), some hidden from everyone, some failing. */
function fakeMetadata(): VideoLookup & {
  titles: Map<string, string>;
  hidden: Set<string>;
  broken: Set<string>;
} {
  const titles = new Map<string, string>();
  const hidden = new Set<string>();
  const broken = new Set<string>();
  return {
    titles,
    hidden,
    broken,
    async find(id) {
      if (hidden.has(id)) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
      if (broken.has(id)) throw new FlotillaError('FLT_UPSTREAM_FAILED', 'metadata answered 500');
      const title = titles.get(id);
      return title === undefined ? undefined : { id, title, owner: 'bob' };
    },
  };
}

describe.each(backends())('recommendations on $name', ({ env }) => {
  let h: RecommendationsHarness;
  let metadata: ReturnType<typeof fakeMetadata>;
  beforeAll(async () => {
    metadata = fakeMetadata();
    h = await startRecommendations(metadata, env);
  });
  afterAll(() => h?.close());

  const videos = (...titles: string[]) =>
    titles.map((title) => {
      const id = randomUUID();
      metadata.titles.set(id, title);
      return id;
    });
  const ids = (list: Array<{ videoId: string }>) => list.map((r) => r.videoId);

  it('recommends what alice watched to carol once carol watched one of them, excluding what carol saw', async () => {
    const [cats, dogs, birds, fish] = videos('Cats', 'Dogs', 'Birds', 'Fish');
    for (const v of [cats, dogs, birds]) await h.view('alice', v as string);
    await h.view('carol', cats as string);
    await h.view('carol', fish as string);
    const recs = await h.recommend('carol');
    const coViewed = recs.filter((r) => r.reason === 'co-viewed');
    expect(new Set(ids(coViewed))).toEqual(new Set([dogs, birds]));
    expect(coViewed).toContainEqual({ videoId: dogs, title: 'Dogs', score: 1, reason: 'co-viewed' });
    // Never what carol has seen, not even as popular.
    expect(ids(recs)).not.toContain(cats);
    expect(ids(recs)).not.toContain(fish);
  });

  it('weighs a like above a view, and a view watched twice (or redelivered) once', async () => {
    const [seed, liked, viewed, once] = videos('Seed', 'Liked', 'Viewed', 'Once');
    await h.view('w-alice', seed as string);
    await h.view('w-bob', seed as string);
    await h.view('w-alice', viewed as string);
    await h.view('w-alice', viewed as string); // watched again: one viewer still
    const id = randomUUID();
    await h.view('w-bob', viewed as string, id);
    await h.view('w-bob', viewed as string, id); // a redelivery
    await h.view('w-bob', once as string);
    // A minute on, so that it is the most recent activity whatever the clock's resolution.
    const later = new Date(Date.now() + 60_000);
    await h.like('w-bob', liked as string, true, later);
    await h.like('w-bob', liked as string, true, later); // liked again: the same state
    await h.view('w-dave', seed as string);
    const recs = (await h.recommend('w-dave')).filter((r) => r.reason === 'co-viewed');
    // liked: one like (2); viewed: two viewers (1 + 1, however often watched); once: 1.
    // Equal scores: the most recent activity first.
    expect(recs.map((r) => [r.videoId, r.score])).toEqual([
      [liked, 2],
      [viewed, 2],
      [once, 1],
    ]);
  });

  it('takes a like back, and an older message arriving late does not undo a newer one', async () => {
    const [seed, other] = videos('Seed 2', 'Other');
    const person = 'l-bob';
    await h.like(person, seed as string);
    await h.like(person, other as string, true, new Date('2026-12-07T10:00:00Z'));
    await h.like(person, other as string, false, new Date('2026-12-07T10:05:00Z'));
    await h.like(person, other as string, true, new Date('2026-12-07T10:01:00Z')); // late
    await h.like('l-carol', seed as string);
    const recs = await h.recommend('l-carol', 50);
    expect(ids(recs.filter((r) => r.reason === 'co-viewed'))).not.toContain(other);
  });

  it('falls back to popular videos for a person with no history, most watched and liked first', async () => {
    const [hit, minor] = videos('Hit', 'Minor');
    for (const who of ['alice', 'bob', 'carol'] as const) await h.view(who, hit as string);
    await h.like('alice', hit as string);
    await h.view('bob', minor as string);
    const newcomer = await h.issuer.token(`newcomer-${randomUUID()}`, {
      claims: { roles: ['viewer'], amr: ['pwd'] },
    });
    const res = await h.call(newcomer, '/recommendations?limit=50');
    expect(res.status).toBe(200);
    const recs = (
      (await res.json()) as { recommendations: Array<{ videoId: string; reason: string; score: number }> }
    ).recommendations;
    expect(recs.every((r) => r.reason === 'popular')).toBe(true);
    const order = ids(recs);
    expect(order).toContain(hit);
    expect(order).toContain(minor);
    expect(order.indexOf(hit as string)).toBeLessThan(order.indexOf(minor as string));
    expect(recs.find((r) => r.videoId === hit)?.score).toBe(5);
  });

  it('drops a deleted video, and a view of it that arrives after the deletion', async () => {
    const [seed, gone, kept] = videos('Seed 3', 'Gone', 'Kept');
    for (const v of [seed, gone, kept]) await h.view('alice', v as string);
    await h.view('carol', seed as string);
    expect(ids(await h.recommend('carol', 50))).toContain(gone);
    await h.deleteVideo(gone as string);
    await h.deleteVideo(gone as string); // a redelivery
    await h.view('bob', gone as string); // late
    const recs = await h.recommend('carol', 50);
    expect(ids(recs)).not.toContain(gone);
    expect(ids(recs)).toContain(kept);
  });

  it('leaves out what metadata hides from the person, keeps a video metadata could not be asked about', async () => {
    const [seed, secret, flaky] = videos('Seed 4', 'Secret', 'Flaky');
    for (const v of [seed, secret, flaky]) await h.view('alice', v as string);
    metadata.hidden.add(secret as string);
    metadata.broken.add(flaky as string);
    await h.view('dave', seed as string);
    const recs = await h.recommend('dave', 50);
    expect(ids(recs)).not.toContain(secret);
    expect(recs).toContainEqual(expect.objectContaining({ videoId: flaky, title: null }));
  });

  it('refuses an application (403), no token (401), a bad limit (400)', async () => {
    expect((await h.call(await h.issuer.token('flixtube-web'), '/recommendations')).status).toBe(403);
    expect((await h.call(undefined, '/recommendations')).status).toBe(401);
    const token = await h.issuer.token(h.sub('alice'), { claims: { roles: ['viewer'], amr: ['pwd'] } });
    const bad = await h.call(token, '/recommendations?limit=0');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'FLT_VALIDATION' });
  });
});
