import { randomUUID } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoLookup } from '../src/index.js';
import { backends, type HistoryHarness, startHistory } from './harness.js';

const CATS = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01';
const DOGS = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a02';
const SECRET = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a03';
const BROKEN = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a04';
const NOWHERE = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0aff';

/** A stand-in for metadata: two videos, one the user may not watch, one whose lookup fails. */
function fakeMetadata(): VideoLookup & { seen: string[]; titles: Map<string, string> } {
  const titles = new Map([
    [CATS, 'Cats'],
    [DOGS, 'Dogs'],
    [BROKEN, 'Broken'],
  ]);
  const seen: string[] = [];
  return {
    seen,
    titles,
    async find(id, authorization) {
      seen.push(authorization);
      if (id === SECRET) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
      if (id === BROKEN) throw new FlotillaError('FLT_UPSTREAM_FAILED', 'metadata answered 500');
      const title = titles.get(id);
      return title === undefined ? undefined : { id, title, owner: 'bob' };
    },
  };
}

interface HistoryJson {
  user: string;
  views: Array<{ id: string; videoId: string; title: string | null; viewed: string }>;
}

describe.each(backends())('history on $name', ({ env }) => {
  let h: HistoryHarness;
  let metadata: ReturnType<typeof fakeMetadata>;
  beforeAll(async () => {
    metadata = fakeMetadata();
    h = await startHistory(metadata, env);
  });
  afterAll(() => h?.close());

  const view = (who: 'alice' | 'bob', videoId: string) => h.view(who, videoId);
  const list = async (who: 'alice' | 'bob') =>
    (await (await h.call(await h.token(who), 'GET', '/history')).json()) as HistoryJson;

  it('records a viewed message and lists it with its title, asking metadata with the reader’s token', async () => {
    const at = '2026-12-07T10:00:00.000Z';
    await h.publishViewed({ videoId: CATS, userId: h.subs.alice, at });
    const token = await h.token('alice');
    const res = await h.call(token, 'GET', '/history');
    expect(res.status).toBe(200);
    expect(((await res.json()) as HistoryJson).views).toEqual([
      { id: expect.any(String), videoId: CATS, title: 'Cats', viewed: at },
    ]);
    expect(metadata.seen.at(-1)).toBe(`Bearer ${token}`);
  });

  it('records a message once, however often it is delivered', async () => {
    const id = randomUUID();
    const message = { videoId: DOGS, userId: h.subs.bob, at: new Date().toISOString() };
    await h.publishViewed(message, id);
    await h.publishViewed(message, id);
    await h.publishViewed(message, id);
    expect((await list('bob')).views.filter((v) => v.videoId === DOGS)).toHaveLength(1);
    // The same view in a new message is a new view.
    await h.publishViewed(message);
    expect((await list('bob')).views.filter((v) => v.videoId === DOGS)).toHaveLength(2);
  });

  it('lists only the caller’s own views, newest first, with titles', async () => {
    await view('alice', DOGS);
    await view('bob', CATS);
    const body = await list('alice');
    expect(body.user).toBe(h.subs.alice);
    expect(body.views.map((v) => [v.videoId, v.title])).toEqual([
      [DOGS, 'Dogs'],
      [CATS, 'Cats'],
    ]);
    expect((await list('bob')).views.map((v) => v.videoId)).toEqual([CATS, DOGS, DOGS]);
  });

  it('no longer takes views over HTTP: POST /history is gone', async () => {
    const res = await h.call(await h.token('alice'), 'POST', '/history', { videoId: CATS });
    expect(res.status).toBe(404);
    expect((await list('alice')).views).toHaveLength(2);
  });

  it('honours ?limit and refuses a bad one', async () => {
    const token = await h.token('alice');
    const one = (await (await h.call(token, 'GET', '/history?limit=1')).json()) as HistoryJson;
    expect(one.views).toHaveLength(1);
    const bad = await h.call(token, 'GET', '/history?limit=0');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe('query/limit');
  });

  it("refuses reading another person's history: 403 and an audit record", async () => {
    const res = await h.call(await h.token('bob'), 'GET', `/history/${h.subs.alice}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await h.auditRecords()).toContainEqual(
      expect.objectContaining({
        actor: h.subs.bob,
        action: 'policy.deny',
        target: `History::"${h.subs.alice}"`,
        outcome: 'denied',
      }),
    );
    const own = await h.call(await h.token('alice'), 'GET', `/history/${h.subs.alice}`);
    expect(own.status).toBe(200);
  });

  it('shows a view of a video that is gone or hidden without a title', async () => {
    await view('alice', NOWHERE);
    await view('alice', SECRET);
    const titles = (await list('alice')).views.slice(0, 2).map((v) => [v.videoId, v.title]);
    expect(titles).toEqual([
      [SECRET, null],
      [NOWHERE, null],
    ]);
  });

  it('still lists the history when a title cannot be had', async () => {
    await view('bob', BROKEN);
    const body = await list('bob');
    expect(body.views[0]).toMatchObject({ videoId: BROKEN, title: null });
  });

  it('forgets a deleted video: its views go, a late view of it is not recorded, a redelivery changes nothing', async () => {
    const GONE = randomUUID();
    await view('alice', GONE);
    await view('bob', GONE);
    expect((await list('alice')).views.map((v) => v.videoId)).toContain(GONE);
    await h.deleteVideo(GONE);
    await h.deleteVideo(GONE);
    // A viewed that was on its way when the video was deleted.
    await view('alice', GONE);
    expect((await list('alice')).views.map((v) => v.videoId)).not.toContain(GONE);
    expect((await list('bob')).views.map((v) => v.videoId)).not.toContain(GONE);
    expect((await list('alice')).views.map((v) => v.videoId)).toContain(CATS);
  });

  it('answers 401 without a valid token', async () => {
    const res = await h.call(undefined, 'GET', '/history');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const forged = await h.issuer.token(h.subs.alice, { rogueKey: true });
    expect((await h.call(forged, 'GET', '/history')).status).toBe(401);
  });

  it('gives an application acting for itself no history', async () => {
    const token = await h.issuer.token('flixtube-web');
    expect((await h.call(token, 'GET', '/history')).status).toBe(403);
  });
});
