// video-streaming in a real fleet (test/fleet.ts): Range answers, stream tokens, `viewed`
// once per viewing session on the embedded broker and on RabbitMQ, and least privilege.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type StreamFleet, startStreamFleet } from './fleet.js';

const BUS_URL = process.env.BUS_URL;
if (!BUS_URL)
  console.warn('BUS_URL is not set: video-streaming runs on the embedded broker only, not RabbitMQ');

const transports = [
  { name: 'the embedded broker', busUrl: undefined },
  ...(BUS_URL ? [{ name: 'RabbitMQ', busUrl: BUS_URL }] : []),
];

const SIZE = 300_000; // several of storage's 64 KiB encrypted segments
const VIDEO = randomBytes(SIZE);

/** Waits for `probe` to hold, polling; fails after `ms` (not a speed check). */
async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function problem(res: Answer, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ code });
}

describe.each(transports)('video-streaming on $name', ({ busUrl }) => {
  let f: StreamFleet;
  let videoId: string;
  let alice: string;
  let aliceSub: string;

  beforeAll(async () => {
    f = await startStreamFleet(busUrl ? { busUrl } : {});
    videoId = await f.video(VIDEO);
    aliceSub = `alice-${randomBytes(4).toString('hex')}`;
    alice = await f.person(aliceSub);
  }, 180_000);
  afterAll(async () => {
    await f?.close();
  });

  /** A stream URL for alice (a new viewing session each time), as the web app asks for it. */
  async function streamUrl(id = videoId, token = alice): Promise<string> {
    const res = await f.call('video-streaming', 'POST', `/videos/${id}/stream-token`, {
      authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(200);
    const { url, expires } = res.json() as { url: string; expires: string };
    expect(url).toMatch(new RegExp(`^/api/videos/${id}/stream\\?token=[\\w.-]+$`));
    const ttl = Date.parse(expires) - Date.now();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 * 60 * 1000);
    return url.replace(/^\/api/, '');
  }

  const get = (path: string, range?: string, method = 'GET') =>
    f.call('video-streaming', method, path, range === undefined ? {} : { range });

  describe('Range', () => {
    let url: string;
    beforeAll(async () => {
      url = await streamUrl();
    });

    it('no Range: 200, the whole video, Accept-Ranges: bytes', async () => {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['content-length']).toBe(String(SIZE));
      expect(res.headers['content-type']).toBe('video/mp4');
      expect(res.body.equals(VIDEO)).toBe(true);
    });

    it.each([
      ['the first bytes', 'bytes=0-99', 0, 99],
      ['the middle (across segments)', 'bytes=65000-140000', 65000, 140000],
      ['a suffix', 'bytes=-500', SIZE - 500, SIZE - 1],
      ['open-ended', 'bytes=100-', 100, SIZE - 1],
      ['an end past the size (clamped)', `bytes=${SIZE - 10}-${SIZE + 1000}`, SIZE - 10, SIZE - 1],
    ])('%s (%s): 206 with Content-Range', async (_what, range, first, last) => {
      const res = await get(url, range);
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${first}-${last}/${SIZE}`);
      expect(res.headers['content-length']).toBe(String(last - first + 1));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.body.equals(VIDEO.subarray(first, last + 1))).toBe(true);
    });

    it('beyond the end: 416 with Content-Range: bytes */size', async () => {
      const res = await get(url, `bytes=${SIZE}-`);
      problem(res, 416, 'FLT_RANGE_NOT_SATISFIABLE');
      expect(res.headers['content-range']).toBe(`bytes */${SIZE}`);
    });

    it.each(['bytes=abc', 'bytes=9-2', 'bytes=0-1,5-9', 'nonsense'])('malformed %s: 400', async (range) => {
      problem(await get(url, range), 400, 'FLT_BAD_REQUEST');
    });

    it('another unit is ignored (RFC 9110 §14.2): 200', async () => {
      const res = await get(url, 'items=0-1');
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(SIZE);
    });

    it('HEAD: the headers of the same GET, no body', async () => {
      const whole = await get(url, undefined, 'HEAD');
      expect(whole.status).toBe(200);
      expect(whole.headers['content-length']).toBe(String(SIZE));
      expect(whole.headers['accept-ranges']).toBe('bytes');
      expect(whole.body.length).toBe(0);
      const part = await get(url, 'bytes=10-19', 'HEAD');
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 10-19/${SIZE}`);
      expect(part.body.length).toBe(0);
    });
  });

  describe('stream tokens', () => {
    it('a missing token: 401', async () => {
      problem(await get(`/videos/${videoId}/stream`), 401, 'FLT_UNAUTHENTICATED');
    });

    it('a token for another video: 403', async () => {
      const other = await f.video(randomBytes(1000), 'another');
      const url = await streamUrl(other);
      problem(await get(url.replace(other, videoId)), 403, 'FLT_FORBIDDEN');
    });

    it('a tampered token: 401', async () => {
      const url = await streamUrl();
      const [head, body, sig] = (new URL(url, 'http://x').searchParams.get('token') as string).split('.');
      const claims = JSON.parse(Buffer.from(body as string, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url');
      problem(
        await get(`/videos/${videoId}/stream?token=${head}.${forged}.${sig}`),
        401,
        'FLT_TOKEN_INVALID',
      );
    });

    it('a token signed with another key, or an access token: 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const guessed = await new SignJWT({ vid: videoId, sid: 's1' })
        .setProtectedHeader({ alg: 'HS256', typ: 'flixtube-stream+jwt' })
        .setIssuer('video-streaming')
        .setAudience('video-streaming/stream')
        .setSubject(aliceSub)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(randomBytes(32));
      problem(await get(`/videos/${videoId}/stream?token=${guessed}`), 401, 'FLT_TOKEN_INVALID');
      problem(await get(`/videos/${videoId}/stream?token=${alice}`), 401, 'FLT_TOKEN_INVALID');
    });

    it('an expired token: 401 FLT_TOKEN_EXPIRED', async () => {
      // The service's own key, read as an instance would, signs a token that expired.
      const { streamKey } = await import('../src/stream-keys.js');
      const key = await streamKey(f.streaming.ctx.db, f.streaming.ctx.kms, 'stream-tokens');
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = await new SignJWT({ vid: videoId, sid: 's-expired' })
        .setProtectedHeader({ alg: 'HS256', typ: 'flixtube-stream+jwt' })
        .setIssuer('video-streaming')
        .setAudience('video-streaming/stream')
        .setSubject(aliceSub)
        .setIssuedAt(past)
        .setExpirationTime(past + 600)
        .sign(key);
      problem(await get(`/videos/${videoId}/stream?token=${expired}`), 401, 'FLT_TOKEN_EXPIRED');
    });

    it('keeps its signing key sealed by the KMS: the database holds no key another service can open', async () => {
      const { rows } = await f.streaming.ctx.db.query<{ sealed: string }>('SELECT sealed FROM stream_keys');
      expect(rows).toHaveLength(1);
      const sealed = rows[0]!.sealed;
      const key = await f.streaming.ctx.kms.decrypt(sealed, {
        service: 'video-streaming',
        purpose: 'stream-token-hmac',
      });
      expect(key).toHaveLength(32);
      expect(sealed).not.toContain(key.toString('base64'));
      // Another service of the fleet holding the row still cannot open it (iam.cedar).
      const history = await f.stand('history');
      await expect(
        history.ctx.kms.decrypt(sealed, { service: 'video-streaming', purpose: 'stream-token-hmac' }),
      ).rejects.toMatchObject({ code: 'FLT_POLICY_DENIED' });
    });

    it('no stream token without a signed-in user: 401', async () => {
      const res = await f.call('video-streaming', 'POST', `/videos/${videoId}/stream-token`);
      expect(res.status).toBe(401);
    });

    it('a video that does not exist: 404 for the token', async () => {
      const res = await f.call('video-streaming', 'POST', `/videos/${crypto.randomUUID()}/stream-token`, {
        authorization: `Bearer ${alice}`,
      });
      problem(res, 404, 'FLT_NOT_FOUND');
    });

    it('a deleted video stops streaming at once: 404', async () => {
      const id = await f.video(randomBytes(1000), 'to delete');
      const url = await streamUrl(id);
      expect((await get(url, 'bytes=0-9')).status).toBe(206);
      const bob = await f.person(`bob-del-${randomBytes(3).toString('hex')}`, ['admin']);
      const deleted = await f.call('metadata', 'DELETE', `/videos/${id}`, { authorization: `Bearer ${bob}` });
      expect(deleted.status).toBe(204);
      problem(await get(url, 'bytes=0-9'), 404, 'FLT_NOT_FOUND');
    });
  });

  it('viewed once per viewing session, not once per range request', async () => {
    const before = f.viewed.filter((v) => v.userId === aliceSub).length;
    const first = await streamUrl();
    for (const range of ['bytes=0-99', 'bytes=1000-1999', 'bytes=-10'])
      expect((await get(first, range)).status).toBe(206);
    const second = await streamUrl();
    expect((await get(second, 'bytes=0-0')).status).toBe(206);
    expect((await get(second, undefined, 'HEAD')).status).toBe(200);
    const sessionOf = (url: string) => {
      const token = new URL(url, 'http://x').searchParams.get('token') as string;
      return (
        JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { sid: string }
      ).sid;
    };
    const sessions = [sessionOf(first), sessionOf(second)];
    await until('both sessions announced', () =>
      sessions.every((s) => f.viewed.some((v) => v.sessionId === s)),
    );
    // Nothing more comes for these sessions (the broker delivered the two; give a late duplicate a moment).
    await new Promise((r) => setTimeout(r, 500));
    const mine = f.viewed.filter((v) => sessions.includes(v.sessionId as string));
    expect(mine).toHaveLength(2);
    for (const v of mine) expect(v).toMatchObject({ videoId, userId: aliceSub });
    expect(f.viewed.filter((v) => v.userId === aliceSub).length - before).toBeGreaterThanOrEqual(2);
  });

  it('least privilege: storage refuses video-streaming a write, a delete and a listing', async () => {
    await expect(
      f.streamer.put('videos', videoId, Buffer.from('overwrite'), { contentType: 'video/mp4' }),
    ).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(f.streamer.delete('videos', videoId)).rejects.toMatchObject({ code: 'FLT_POLICY_DENIED' });
    await expect(f.streamer.list('videos')).rejects.toMatchObject({ code: 'FLT_POLICY_DENIED' });
    // …and the video is unchanged.
    const res = await get(await streamUrl());
    expect(res.body.equals(VIDEO)).toBe(true);
  });
});

// Several instances share the service's database: a token one issued is accepted by the
// other, and a session is announced once whichever instance serves its requests.
describe.skipIf(!process.env.DATABASE_URL)('two video-streaming instances on one PostgreSQL', () => {
  let f: StreamFleet;
  beforeAll(async () => {
    f = await startStreamFleet({ sharedDb: process.env.DATABASE_URL });
  }, 180_000);
  afterAll(async () => {
    await f?.close();
  });

  it('agree on the token key and announce each session once', async () => {
    const videoId = await f.video(VIDEO.subarray(0, 5000));
    const sub = `carol-${randomBytes(4).toString('hex')}`;
    const carol = await f.person(sub);
    const ticket = await f.call('video-streaming', 'POST', `/videos/${videoId}/stream-token`, {
      authorization: `Bearer ${carol}`,
    });
    const url = (ticket.json() as { url: string }).url.replace(/^\/api/, '');
    const sid = (
      JSON.parse(
        Buffer.from((url.split('token=')[1] as string).split('.')[1] as string, 'base64url').toString(),
      ) as { sid: string }
    ).sid;
    // Both instances at once, several range requests each, the same session.
    const instances = [f.streaming, f.twin!];
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) =>
        instances[i % 2]!.app.inject({
          method: 'GET',
          url,
          headers: { range: `bytes=${i * 10}-${i * 10 + 9}` },
        }),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(res.statusCode).toBe(206);
      expect(res.rawPayload.equals(VIDEO.subarray(i * 10, i * 10 + 10))).toBe(true);
    }
    await until('the session announced', () => f.viewed.some((v) => v.sessionId === sid));
    await new Promise((r) => setTimeout(r, 500));
    expect(f.viewed.filter((v) => v.sessionId === sid)).toEqual([
      expect.objectContaining({ videoId, userId: sub, sessionId: sid }),
    ]);
  });
});
