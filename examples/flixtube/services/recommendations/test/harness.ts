import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Liked, VideoDeleted, Viewed } from '@flixtube/messages';
import { type MessageBody, type MessageType, type RunningService } from '@flotilla/kit';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import { createRecommendations, type SignalHandlers, type VideoLookup } from '../src/index.js';

export const AUDIENCE = 'flixtube-api';
export const POLICY_DIR = resolve(import.meta.dirname, '../../../../../policies');

/** The database backends to run against: always PGlite, PostgreSQL when DATABASE_URL is set. */
export function backends(): Array<{ name: string; env: Record<string, string> }> {
  const list = [{ name: 'pglite', env: {} as Record<string, string> }];
  const url = process.env.DATABASE_URL;
  if (url) list.push({ name: 'postgres', env: { DATABASE_URL: url } });
  else console.warn('DATABASE_URL is not set: the recommendations tests run on PGlite only, not PostgreSQL');
  return list;
}

/** A person by name; each name is a subject unique to this run (`<name>-<run>`). */
export type Person = string;

export interface RecommendationsHarness {
  service: RunningService;
  issuer: TestIssuer;
  sub(who: Person): string;
  /** `who` watched `videoId` (a new `viewed` message unless `messageId` repeats one). */
  view(who: Person, videoId: string, messageId?: string): Promise<void>;
  like(who: Person, videoId: string, liked?: boolean, at?: Date): Promise<void>;
  deleteVideo(videoId: string): Promise<void>;
  recommend(
    who: Person,
    limit?: number,
  ): Promise<Array<{ videoId: string; title: string | null; score: number; reason: string }>>;
  call(token: string | undefined, path: string): Promise<Response>;
  close(): Promise<void>;
}

/** Starts recommendations in-process; the harness stands in for the bus (each message checked against its schema). */
export async function startRecommendations(
  lookup: VideoLookup,
  env: Record<string, string> = {},
): Promise<RecommendationsHarness> {
  const issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
  const home = await mkdtemp(join(tmpdir(), 'flixtube-recommendations-'));
  const run = randomUUID().slice(0, 8);
  const sub = (who: Person) => `${who}-${run}`;
  let handlers: SignalHandlers | undefined;
  const service = await createRecommendations({
    lookup,
    signals: (_ctx, h) => {
      handlers = h;
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
  const deliver = async <M extends MessageType>(
    type: M,
    body: MessageBody<M>,
    handler: (b: MessageBody<M>, m: Parameters<SignalHandlers['viewed']>[1]) => Promise<void>,
    id: string = randomUUID(),
  ) => {
    const problem = type.problem(body);
    if (problem) throw new Error(`the bus would refuse this message: ${problem}`);
    await handler(body, {
      id,
      type: type.name,
      time: new Date().toISOString(),
      sender: 'spiffe://flotilla.local/svc/metadata',
      attempt: 1,
      redelivered: false,
    });
  };
  const h = (): SignalHandlers => {
    if (!handlers) throw new Error('recommendations did not subscribe');
    return handlers;
  };
  const call = (token: string | undefined, path: string) =>
    fetch(`${service.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const token = (who: Person) =>
    issuer.token(sub(who), { claims: { roles: ['viewer'], amr: ['pwd', 'otp'] } });
  return {
    service,
    issuer,
    sub,
    view: (who, videoId, messageId) =>
      deliver(Viewed, { videoId, userId: sub(who), at: new Date().toISOString() }, h().viewed, messageId),
    like: (who, videoId, liked = true, at = new Date()) =>
      deliver(Liked, { videoId, userId: sub(who), liked, at: at.toISOString() }, h().liked),
    deleteVideo: (videoId) =>
      deliver(VideoDeleted, { videoId, at: new Date().toISOString() }, h().videoDeleted),
    async recommend(who, limit) {
      const res = await call(await token(who), `/recommendations${limit ? `?limit=${limit}` : ''}`);
      if (res.status !== 200)
        throw new Error(`GET /recommendations answered ${res.status}: ${await res.text()}`);
      return (
        (await res.json()) as { recommendations: Awaited<ReturnType<RecommendationsHarness['recommend']>> }
      ).recommendations;
    },
    call,
    async close() {
      await service.stop();
      await issuer.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
