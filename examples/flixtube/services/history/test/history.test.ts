import { FlotillaError } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoLookup } from '../src/index.js';
import { backends, type HistoryHarness, startHistory } from './harness.js';

const CATS = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01';
const DOGS = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a02';
const SECRET = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a03';
const BROKEN = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a04';
const NOWHERE = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0aff';

/** A stand-in for metadata: two videos, one the user may not watch, one that fails after being recorded. */
function fakeMetadata(): VideoLookup & { seen: string[]; titles: Map<string, string> } {
  const titles = new Map([
    [CATS, 'Cats'],
    [DOGS, 'Dogs'],
    [BROKEN, 'Broken'],
  ]);
  const seen: string[] = [];
  let brokenCalls = 0;
  return {
    seen,
    titles,
    async find(id, authorization) {
      seen.push(authorization);
      if (id === SECRET) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
      if (id === BROKEN && ++brokenCalls > 1)
        throw new FlotillaError('FLT_UPSTREAM_FAILED', 'metadata answered 500');
      const title = titles.get(id);
      return title === undefined ? undefined : { id, title };
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

  const view = async (who: 'alice' | 'bob', videoId: string) =>
    h.call(await h.token(who), 'POST', '/history', { videoId });

  it('records a view for the caller and forwards the caller’s own token to metadata', async () => {
    const token = await h.token('alice');
    const res = await h.call(token, 'POST', '/history', { videoId: CATS });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ videoId: CATS, title: 'Cats', viewed: expect.any(String) });
    expect(metadata.seen.at(-1)).toBe(`Bearer ${token}`);
  });

  it('lists only the caller’s own views, newest first, with titles', async () => {
    expect((await view('alice', DOGS)).status).toBe(201);
    expect((await view('bob', CATS)).status).toBe(201);
    const res = await h.call(await h.token('alice'), 'GET', '/history');
    expect(res.status).toBe(200);
    const body = (await res.json()) as HistoryJson;
    expect(body.user).toBe(h.subs.alice);
    expect(body.views.map((v) => [v.videoId, v.title])).toEqual([
      [DOGS, 'Dogs'],
      [CATS, 'Cats'],
    ]);
    const bobs = (await (await h.call(await h.token('bob'), 'GET', '/history')).json()) as HistoryJson;
    expect(bobs.views.map((v) => v.videoId)).toEqual([CATS]);
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

  it('refuses a video that does not exist, and records nothing', async () => {
    const res = await view('alice', NOWHERE);
    expect(res.status).toBe(404);
    const body = (await (await h.call(await h.token('alice'), 'GET', '/history')).json()) as HistoryJson;
    expect(body.views.map((v) => v.videoId)).not.toContain(NOWHERE);
  });

  it('refuses a video metadata will not show this user', async () => {
    expect((await view('alice', SECRET)).status).toBe(403);
  });

  it.each([
    [{}, 'body/videoId'],
    [{ videoId: 'cats' }, 'body/videoId'],
    [{ videoId: CATS, viewer: 'bob' }, 'body/viewer'],
  ])('refuses %j with a 400 naming %s', async (input, field) => {
    const res = await h.call(await h.token('alice'), 'POST', '/history', input);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(field);
  });

  it('still lists the history when a title cannot be had', async () => {
    expect((await view('bob', BROKEN)).status).toBe(201);
    const body = (await (await h.call(await h.token('bob'), 'GET', '/history')).json()) as HistoryJson;
    expect(body.views[0]).toMatchObject({ videoId: BROKEN, title: null });
  });

  it('answers 401 without a valid token', async () => {
    const res = await h.call(undefined, 'GET', '/history');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const forged = await h.issuer.token(h.subs.alice, { rogueKey: true });
    expect((await h.call(forged, 'POST', '/history', { videoId: CATS })).status).toBe(401);
  });

  it('gives an application acting for itself no history', async () => {
    const token = await h.issuer.token('flixtube-web');
    expect((await h.call(token, 'GET', '/history')).status).toBe(403);
  });
});
