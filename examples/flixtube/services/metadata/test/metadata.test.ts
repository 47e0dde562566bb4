import { DEMO_VIDEOS } from '@flixtube/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type Harness, startMetadata } from './harness.js';

interface VideoJson {
  id: string;
  title: string;
  description: string;
  owner: string;
  created: string;
}
interface ProblemJson {
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

describe.each(backends())('metadata on $name', ({ env }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startMetadata(env);
  });
  afterAll(() => h?.close());

  async function create(who: 'alice' | 'bob' | 'carol', title: string): Promise<VideoJson> {
    const res = await h.call(await h.token(who), 'POST', '/videos', { title, description: `by ${who}` });
    expect(res.status).toBe(201);
    return (await res.json()) as VideoJson;
  }

  async function problem(res: Response, status: number): Promise<ProblemJson> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return (await res.json()) as ProblemJson;
  }

  describe('authentication', () => {
    it('answers 401 with a Bearer challenge without a token', async () => {
      const res = await h.call(undefined, 'GET', '/videos');
      await problem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="flixtube-api"');
    });

    it('answers 401 to an invalid token, before validating the request', async () => {
      const forged = await h.issuer.token(h.subs.alice, { rogueKey: true });
      const res = await h.call(forged, 'POST', '/videos', { nonsense: true });
      const body = await problem(res, 401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(JSON.stringify(body)).not.toContain(forged);
    });

    it('answers 401 to an expired token', async () => {
      const expired = await h.issuer.token(h.subs.alice, { expiresIn: -120 });
      await problem(await h.call(expired, 'GET', '/videos'), 401);
    });

    it('leaves health and metrics open', async () => {
      expect((await h.call(undefined, 'GET', '/livez')).status).toBe(200);
      expect((await h.call(undefined, 'GET', '/readyz')).status).toBe(200);
    });
  });

  describe('create, read, list', () => {
    it('creates a video owned by the caller, whatever the body says', async () => {
      const res = await h.call(await h.token('alice'), 'POST', '/videos', { title: 'Cats' });
      expect(res.status).toBe(201);
      const video = (await res.json()) as VideoJson;
      expect(video).toMatchObject({ title: 'Cats', description: '', owner: h.subs.alice });
      expect(res.headers.get('location')).toBe(`/videos/${video.id}`);
      const got = await h.call(await h.token('carol'), 'GET', `/videos/${video.id}`);
      expect(got.status).toBe(200);
      // With what carol may do with it: not hers, so neither edit nor delete.
      expect(await got.json()).toEqual({ ...video, actions: { update: false, delete: false } });
      const own = await h.call(await h.token('alice'), 'GET', `/videos/${video.id}`);
      expect(((await own.json()) as { actions: unknown }).actions).toEqual({ update: true, delete: true });
    });

    it('refuses to let the body set the owner', async () => {
      const res = await h.call(await h.token('alice'), 'POST', '/videos', { title: 'x', owner: h.subs.bob });
      const body = await problem(res, 400);
      expect(body.errors?.[0]?.field).toBe('body/owner');
    });

    it.each([
      [{}, 'body/title'],
      [{ title: '' }, 'body/title'],
      [{ title: '   ' }, 'body/title'],
      [{ title: 'x'.repeat(201) }, 'body/title'],
      [{ title: 7 }, 'body/title'],
      [{ title: 'ok', description: 'd'.repeat(5001) }, 'body/description'],
    ])('refuses %j with a 400 naming %s', async (input, field) => {
      const body = await problem(await h.call(await h.token('alice'), 'POST', '/videos', input), 400);
      expect(body.code).toBe('FLT_VALIDATION');
      expect(body.errors?.[0]?.field).toBe(field);
    });

    it('answers 404 for an unknown video and 400 for a malformed id', async () => {
      const token = await h.token('alice');
      await problem(await h.call(token, 'GET', '/videos/6f1d2b8e-3c1a-4e0f-9a51-000000000000'), 404);
      const bad = await problem(await h.call(token, 'GET', '/videos/42'), 400);
      expect(bad.errors?.[0]?.field).toBe('params/id');
    });

    it('lists newest first in pages', async () => {
      const made = [];
      for (const n of [1, 2, 3]) made.push(await create('carol', `page ${n}`));
      const token = await h.token('alice');
      const first = await h.call(token, 'GET', '/videos?limit=2');
      expect(first.status).toBe(200);
      const page1 = (await first.json()) as { videos: VideoJson[]; next: string | null };
      expect(page1.videos.map((v) => v.title)).toEqual(['page 3', 'page 2']);
      expect(page1.next).toEqual(expect.any(String));
      const second = await h.call(token, 'GET', `/videos?limit=2&cursor=${page1.next}`);
      const page2 = (await second.json()) as { videos: VideoJson[]; next: string | null };
      expect(page2.videos[0]?.title).toBe('page 1');
      const ids = [...page1.videos, ...page2.videos].map((v) => v.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it.each([
      ['limit=0', 'query/limit'],
      ['limit=101', 'query/limit'],
      ['limit=abc', 'query/limit'],
      ['cursor=bm90LWEtY3Vyc29y', 'query/cursor'],
      ['cursor=%3Cscript%3E', 'query/cursor'],
      ['sort=title', 'query/sort'],
    ])('refuses ?%s with a 400 naming %s', async (query, field) => {
      const body = await problem(await h.call(await h.token('alice'), 'GET', `/videos?${query}`), 400);
      expect(body.errors?.[0]?.field).toBe(field);
    });
  });

  describe('update and delete, by policy', () => {
    it('lets the owner change her video, and refuses another viewer', async () => {
      const video = await create('carol', 'Before');
      const denied = await h.call(await h.token('alice'), 'PATCH', `/videos/${video.id}`, {
        title: 'Hacked',
      });
      expect((await problem(denied, 403)).detail).toBe('you may not change this video');
      const res = await h.call(await h.token('carol'), 'PATCH', `/videos/${video.id}`, { title: 'After' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: video.id, title: 'After', description: 'by carol' });
    });

    it('refuses an empty or unknown change', async () => {
      const video = await create('carol', 'Unchanged');
      const token = await h.token('carol');
      await problem(await h.call(token, 'PATCH', `/videos/${video.id}`, {}), 400);
      const extra = await problem(await h.call(token, 'PATCH', `/videos/${video.id}`, { owner: 'x' }), 400);
      expect(extra.errors?.[0]?.field).toBe('body/owner');
    });

    it("refuses alice deleting bob's video: 403 problem and an audit record", async () => {
      const video = await create('bob', "Bob's video");
      const res = await h.call(await h.token('alice'), 'DELETE', `/videos/${video.id}`);
      const body = await problem(res, 403);
      expect(body).toMatchObject({ code: 'FLT_FORBIDDEN', detail: 'you may not delete this video' });
      const records = await h.auditRecords();
      expect(records).toContainEqual(
        expect.objectContaining({
          actor: h.subs.alice,
          action: 'policy.deny',
          target: `Video::"${video.id}"`,
          outcome: 'denied',
          details: expect.objectContaining({ action: 'video:Delete' }),
        }),
      );
      expect((await h.call(await h.token('bob'), 'GET', `/videos/${video.id}`)).status).toBe(200);
    });

    it('lets bob, an administrator, delete any video', async () => {
      const video = await create('carol', "Carol's video");
      expect((await h.call(await h.token('bob'), 'DELETE', `/videos/${video.id}`)).status).toBe(204);
      await problem(await h.call(await h.token('bob'), 'GET', `/videos/${video.id}`), 404);
      // Every service that kept something of it hears that it is gone.
      expect(h.deleted).toContainEqual({ videoId: video.id, at: expect.any(String) });
    });

    it('lets the owner delete her own video', async () => {
      const video = await create('alice', 'Mine');
      expect((await h.call(await h.token('alice'), 'DELETE', `/videos/${video.id}`)).status).toBe(204);
    });

    it('refuses deleting without a second factor, even to an administrator', async () => {
      const video = await create('carol', 'Needs MFA');
      await problem(await h.call(await h.token('dave'), 'DELETE', `/videos/${video.id}`), 403);
      // A refused deletion announces nothing.
      expect(h.deleted.map((d) => d.videoId)).not.toContain(video.id);
      // Updating does not need it.
      const res = await h.call(await h.token('dave'), 'PATCH', `/videos/${video.id}`, { description: 'ok' });
      expect(res.status).toBe(200);
    });

    it('refuses an application acting for itself (client credentials)', async () => {
      const token = await h.issuer.token('flixtube-web', { claims: { roles: ['admin'] } });
      await problem(await h.call(token, 'POST', '/videos', { title: 'robot' }), 403);
    });
  });
});

describe('metadata seeding', () => {
  it('adds the demo videos once, however often it starts', async () => {
    const first = await startMetadata({ METADATA_SEED: 'demo-owner' });
    try {
      const list = async (h: Harness) =>
        ((await (await h.call(await h.token('alice'), 'GET', '/videos')).json()) as { videos: VideoJson[] })
          .videos;
      const videos = await list(first);
      // The demo catalogue's entries, under the ids video-upload stores their videos at.
      const demo = videos.filter((v) => v.owner === 'demo-owner');
      expect(demo.map((v) => [v.id, v.title]).sort()).toEqual(DEMO_VIDEOS.map((v) => [v.id, v.title]).sort());
      // Seeding again (as a restart would) adds nothing.
      const { VideoStore } = await import('../src/video-store.js');
      const { seedVideos } = await import('../src/seed.js');
      await seedVideos(new VideoStore(first.service.ctx.db), 'demo-owner', first.service.ctx.log);
      expect((await list(first)).filter((v) => v.owner === 'demo-owner')).toHaveLength(3);
    } finally {
      await first.close();
    }
  });
});
