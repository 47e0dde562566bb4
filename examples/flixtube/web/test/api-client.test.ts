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
    expect(failureMessage(400, 'record-view', { detail: 'body/videoId must match format "uuid"' })).toContain(
      'body/videoId',
    );
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

  it('encodes ids and posts views as JSON', async () => {
    const { client, fetch } = api(() => new Response('{}', { status: 201 }));
    await client.recordView('a/b');
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'POST', body: '{"videoId":"a/b"}' });
    await client.getVideo('../admin').catch(() => undefined);
    expect(fetch.mock.calls[1]![0]).toBe('/api/videos/..%2Fadmin');
  });
});
