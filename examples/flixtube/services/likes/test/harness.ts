import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Liked } from '@flixtube/messages';
import { type MessageBody, type RunningService } from '@flotilla/kit';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import { createLikes, type VideoLookup } from '../src/index.js';
import type { VideoDeletedHandler } from '../src/messages.js';

export const AUDIENCE = 'flixtube-api';
export const POLICY_DIR = resolve(import.meta.dirname, '../../../../../policies');

/** The database backends to run against: always PGlite, PostgreSQL when DATABASE_URL is set. */
export function backends(): Array<{ name: string; env: Record<string, string> }> {
  const list = [{ name: 'pglite', env: {} as Record<string, string> }];
  const url = process.env.DATABASE_URL;
  if (url) list.push({ name: 'postgres', env: { DATABASE_URL: url } });
  else console.warn('DATABASE_URL is not set: the likes tests run on PGlite only, not PostgreSQL');
  return list;
}

export type Person = 'alice' | 'bob' | 'carol';

export interface LikesHarness {
  service: RunningService;
  subs: Record<Person, string>;
  /** What likes published as `liked`, in order (the harness stands in for the bus). */
  liked: Array<MessageBody<typeof Liked>>;
  /** Makes the next publishes fail, as a bus that is down would. */
  failPublish: boolean;
  /** Delivers a `video-deleted` message as the subscription would. */
  deleteVideo(videoId: string): Promise<void>;
  token(who: Person): Promise<string>;
  clientToken(): Promise<string>;
  call(token: string | undefined, method: string, path: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startLikes(
  lookup: VideoLookup,
  env: Record<string, string> = {},
): Promise<LikesHarness> {
  const issuer: TestIssuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
  const home = await mkdtemp(join(tmpdir(), 'flixtube-likes-'));
  const run = randomUUID().slice(0, 8);
  const subs = { alice: `alice-${run}`, bob: `bob-${run}`, carol: `carol-${run}` };
  let onDeleted: VideoDeletedHandler | undefined;
  const h = { liked: [] as LikesHarness['liked'], failPublish: false };
  const service = await createLikes({
    lookup,
    publishLiked: async (m) => {
      if (h.failPublish) throw new Error('the bus is down');
      h.liked.push(m);
    },
    videoDeleted: (_ctx, handler) => {
      onDeleted = handler;
    },
  }).start({
    env: {
      PORT: '0',
      FLOTILLA_HOME: home,
      LOG_LEVEL: 'silent',
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      POLICY_WATCH: 'false',
      ...env,
    },
    inMemoryDb: true,
  });
  return Object.assign(h, {
    service,
    subs,
    async deleteVideo(videoId: string) {
      if (!onDeleted) throw new Error('likes did not subscribe to video-deleted');
      const message = {
        id: randomUUID(),
        type: 'video-deleted',
        time: new Date().toISOString(),
        sender: 'spiffe://flotilla.local/svc/metadata',
        attempt: 1,
        redelivered: false,
      };
      await onDeleted({ videoId, at: new Date().toISOString() }, message);
    },
    token: (who: Person) =>
      issuer.token(subs[who], {
        claims: { roles: who === 'bob' ? ['admin'] : ['viewer'], amr: ['pwd', 'otp'] },
      }),
    // An application acting for itself: the subject is the client id.
    clientToken: () => issuer.token('flixtube-web'),
    call: (token: string | undefined, method: string, path: string) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      }),
    async close() {
      await service.stop();
      await issuer.close();
      await rm(home, { recursive: true, force: true });
    },
  });
}
