import { describe, expect, it, vi } from 'vitest';
import { createApi } from '../src/api/client.js';
import { ApiError, failureMessage } from '../src/api/errors.js';

const problem = (status: number, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: 'urn:x', title: 't', status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

function api(respond: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const onUnauthenticated = vi.fn();
  const fetch = vi.fn(async (url: string, init?: RequestInit) => respond(url, init ?? {}));
  const client = createApi({
    base: '/api',
    token: () => 'the-token',
    onUnauthenticated,
    fetch: fetch as typeof globalThis.fetch,
  });
  return { client, fetch, onUnauthenticated };
}

describe('failureMessage', () => {
  it('says a refused delete in the user’s terms', () => {
    expect(failureMessage(403, 'delete', { detail: 'you may not delete this video' })).toBe(
      'You may not delete this video.',
    );
  });

  it('shows a validation detail but never a server error’s', () => {
    expect(
      failureMessage(400, 'edit', { detail: 'body/title must NOT have fewer than 1 characters' }),
    ).toContain('body/title');
    expect(failureMessage(500, 'list', { detail: 'stack trace at db.ts:42' })).toBe(
      'FlixTube is having trouble right now. Please try again.',
    );
  });

  it('tells how long to wait when throttled', () => {
    expect(failureMessage(429, 'list', undefined, '3')).toBe(
      'Too many requests. Please try again in 3 seconds.',
    );
    expect(failureMessage(429, 'list', undefined, 'soon')).toBe('Too many requests. Please wait a moment.');
  });
});

describe('createApi', () => {
  it('sends the bearer token and no cookies', async () => {
    const { client, fetch } = api(() => Response.json({ videos: [], next: null }));
    await client.listVideos();
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/videos');
    expect(init?.headers).toMatchObject({ authorization: 'Bearer the-token' });
    expect(init?.credentials).toBe('omit');
  });

  it('turns a 403 on delete into an ApiError with the message for the page', async () => {
    const { client } = api(() => problem(403, 'you may not delete this video'));
    const err = await client.deleteVideo('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 403, message: 'You may not delete this video.' });
  });

  it('reports a 401 so the app can renew the session', async () => {
    const { client, onUnauthenticated } = api(() => problem(401, 'the access token is invalid or expired'));
    await expect(client.history()).rejects.toMatchObject({ status: 401 });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
  });

  it('maps a network failure to status 0', async () => {
    const { client } = api(() => Promise.reject(new TypeError('fetch failed')));
    await expect(client.getVideo('v1')).rejects.toMatchObject({ status: 0 });
  });

  it('encodes ids and sends edits as JSON', async () => {
    const { client, fetch } = api(() => Response.json({}));
    await client.updateVideo('a/b', { title: 'New' });
    expect(fetch.mock.calls[0]![0]).toBe('/api/videos/a%2Fb');
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'PATCH', body: '{"title":"New"}' });
    await client.getVideo('../admin').catch(() => undefined);
    expect(fetch.mock.calls[1]![0]).toBe('/api/videos/..%2Fadmin');
  });

  it('likes with PUT and unlikes with DELETE', async () => {
    const { client, fetch } = api(() => new Response(null, { status: 204 }));
    await client.setLiked('v1', true);
    await client.setFavorite('v1', false);
    expect(fetch.mock.calls.map(([url, init]) => `${init?.method} ${url}`)).toEqual([
      'PUT /api/videos/v1/like',
      'DELETE /api/videos/v1/favorite',
    ]);
  });

  it('reads a missing poster as none, and a poster as its bytes', async () => {
    const none = api(() => problem(404, 'no poster yet'));
    expect(await none.client.poster('v1')).toBeUndefined();
    const some = api(
      () => new Response(new Uint8Array([0xff, 0xd8]), { headers: { 'content-type': 'image/jpeg' } }),
    );
    const blob = await some.client.poster('v1');
    expect(blob?.type).toBe('image/jpeg');
    expect(blob?.size).toBe(2);
    expect(some.fetch.mock.calls[0]![1]?.headers).toMatchObject({ authorization: 'Bearer the-token' });
  });

  it('asks for permissions in one batch and fails closed when the gateway cannot answer', async () => {
    const requests = [{ method: 'POST', path: '/api/uploads' }] as const;
    const yes = api(() => Response.json({ results: [{ ...requests[0], allowed: true }] }));
    expect((await yes.client.permissions(requests)).may('POST', '/api/uploads')).toBe(true);
    expect(JSON.parse(yes.fetch.mock.calls[0]![1]?.body as string)).toEqual({ requests });
    const missing = api(() => problem(404, 'no route'));
    const denied = await missing.client.permissions(requests);
    expect(denied.settled).toBe(true);
    expect(denied.may('POST', '/api/uploads')).toBe(false);
    const down = api(() => Promise.reject(new TypeError('fetch failed')));
    expect((await down.client.permissions(requests)).may('POST', '/api/uploads')).toBe(false);
  });
});
