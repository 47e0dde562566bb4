import { Redis } from 'ioredis';
import { subscribeOn } from './redis.js';
import { parseRevocationEvent, type RevocationEvent, type Subscription } from './types.js';

export const EVENTS_PATH = '/v1/revocations/events';

/**
 * Subscribes a gateway to revocations: a Redis client or `redis://` URL (pub/sub), or
 * the auth service's URL (its Server-Sent Events stream, reconnecting with
 * `Last-Event-ID` so nothing published meanwhile is missed).
 *
 * @example
 * const sub = await subscribeRevocations(auth.url, (e) => denylist.add(e));
 * await sub.close();
 */
export async function subscribeRevocations(
  source: string | Redis,
  onEvent: (event: RevocationEvent) => void,
  opts: { headers?: Record<string, string>; retryMs?: number } = {},
): Promise<Subscription> {
  if (typeof source !== 'string') {
    const sub = source.duplicate();
    return subscribeOn(sub, onEvent, async () => void sub.disconnect());
  }
  if (/^rediss?:\/\//.test(source)) {
    const sub = new Redis(source);
    return subscribeOn(sub, onEvent, async () => void sub.disconnect());
  }
  const url = new URL(source);
  if (url.pathname === '/' || url.pathname === '') url.pathname = EVENTS_PATH;
  return sseSubscription(url, onEvent, opts.headers ?? {}, opts.retryMs ?? 500);
}

async function sseSubscription(
  url: URL,
  onEvent: (event: RevocationEvent) => void,
  headers: Record<string, string>,
  retryMs: number,
): Promise<Subscription> {
  let lastId: string | undefined;
  let closed = false;
  let controller = new AbortController();
  let firstConnect: ((err?: unknown) => void) | undefined;
  const connected = new Promise<void>((resolve, reject) => {
    firstConnect = (err) =>
      err ? reject(err instanceof Error ? err : new Error('revocation stream failed')) : resolve();
  });

  const loop = async () => {
    while (!closed) {
      try {
        controller = new AbortController();
        const res = await fetch(url, {
          headers: {
            accept: 'text/event-stream',
            ...headers,
            ...(lastId ? { 'last-event-id': lastId } : {}),
          },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`revocation stream: HTTP ${res.status}`);
        firstConnect?.();
        firstConnect = undefined;
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) lastId = line.slice(3).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            const event = data ? parseRevocationEvent(data) : undefined;
            if (event) onEvent(event);
          }
        }
      } catch (err) {
        if (closed) return;
        if (firstConnect) {
          firstConnect(err);
          return;
        }
      }
      if (!closed) await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void loop();
  await connected;
  return {
    close: async () => {
      closed = true;
      controller.abort();
    },
  };
}
