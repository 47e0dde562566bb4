import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VideoDeleted, Viewed } from '@flixtube/messages';
import { type MessageBody, type RunningService } from '@flotilla/kit';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import {
  createHistory,
  type VideoDeletedHandler,
  type VideoLookup,
  type ViewedHandler,
} from '../src/index.js';

export const AUDIENCE = 'flixtube-api';
export const POLICY_DIR = resolve(import.meta.dirname, '../../../../../policies');

/** The database backends to run against: always PGlite, PostgreSQL when DATABASE_URL is set. */
export function backends(): Array<{ name: string; env: Record<string, string> }> {
  const list = [{ name: 'pglite', env: {} as Record<string, string> }];
  const url = process.env.DATABASE_URL;
  if (url) list.push({ name: 'postgres', env: { DATABASE_URL: url } });
  else
    console.warn('DATABASE_URL is not set: the FlixTube database tests run on PGlite only, not PostgreSQL');
  return list;
}

export type Person = 'alice' | 'bob';

export interface HistoryHarness {
  issuer: TestIssuer;
  service: RunningService;
  /** Subjects unique to this run, so runs sharing a PostgreSQL database do not see each other. */
  subs: Record<Person, string>;
  token(who: Person): Promise<string>;
  /**
   * Delivers a `viewed` message to history as its subscription would (the harness stands
   * in for the bus): checked against the schema, then handled. `id` is the message id;
   * the same id again is a redelivery.
   */
  publishViewed(view: MessageBody<typeof Viewed>, id?: string): Promise<void>;
  /** Delivers a `video-deleted` for `videoId` to history, as its subscription would. */
  deleteVideo(videoId: string): Promise<void>;
  /** `who` viewed `videoId` now (a new message). */
  view(who: Person, videoId: string): Promise<void>;
  call(token: string | undefined, method: string, path: string, body?: unknown): Promise<Response>;
  auditRecords(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** Starts history in-process with the given video lookup (and, optionally, a shared issuer). */
export async function startHistory(
  lookup: VideoLookup,
  env: Record<string, string> = {},
  shared?: TestIssuer,
): Promise<HistoryHarness> {
  const issuer = shared ?? (await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' }));
  const home = await mkdtemp(join(tmpdir(), 'flixtube-history-'));
  const run = randomUUID().slice(0, 8);
  const subs = { alice: `alice-${run}`, bob: `bob-${run}` };
  let handler: ViewedHandler | undefined;
  let onDeleted: VideoDeletedHandler | undefined;
  const service = await createHistory({
    lookup,
    viewed: (_ctx, h) => {
      handler = h;
    },
    videoDeleted: (_ctx, h) => {
      onDeleted = h;
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
  const envelope = (id: string, type: string) => ({
    id,
    type,
    time: new Date().toISOString(),
    sender: 'spiffe://flotilla.local/svc/metadata',
    attempt: 1,
    redelivered: false,
  });
  const publishViewed = async (view: MessageBody<typeof Viewed>, id: string = randomUUID()) => {
    const problem = Viewed.problem(view);
    if (problem) throw new Error(`the bus would refuse this message: ${problem}`);
    if (!handler) throw new Error('history did not subscribe to viewed');
    await handler(view, envelope(id, Viewed.name));
  };
  const deleteVideo = async (videoId: string) => {
    const deleted = { videoId, at: new Date().toISOString() };
    const problem = VideoDeleted.problem(deleted);
    if (problem) throw new Error(`the bus would refuse this message: ${problem}`);
    if (!onDeleted) throw new Error('history did not subscribe to video-deleted');
    await onDeleted(deleted, envelope(randomUUID(), VideoDeleted.name));
  };
  return {
    issuer,
    service,
    subs,
    publishViewed,
    deleteVideo,
    view: (who, videoId) => publishViewed({ videoId, userId: subs[who], at: new Date().toISOString() }),
    token: (who) =>
      issuer.token(subs[who], {
        claims: { roles: who === 'bob' ? ['admin'] : ['viewer'], amr: ['pwd', 'otp'] },
      }),
    call: (token, method, path, body) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    async auditRecords() {
      const text = await readFile(join(home, 'audit', 'history.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await service.stop();
      if (!shared) await issuer.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
