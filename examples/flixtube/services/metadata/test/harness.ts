import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type RunningService } from '@flotilla/kit';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import type { MessageBody } from '@flotilla/kit';
import type { VideoDeleted } from '@flixtube/messages';
import { createMetadata } from '../src/index.js';

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

export interface Harness {
  issuer: TestIssuer;
  service: RunningService;
  home: string;
  /** What metadata published as `video-deleted`, in order. */
  deleted: Array<MessageBody<typeof VideoDeleted>>;
  /** Subjects unique to this run, so runs sharing a PostgreSQL database do not see each other. */
  subs: { alice: string; bob: string; carol: string; dave: string };
  token(who: keyof Harness['subs']): Promise<string>;
  call(token: string | undefined, method: string, path: string, body?: unknown): Promise<Response>;
  auditRecords(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

// alice and carol are viewers, bob an administrator; all signed in with a second
// factor, except dave, an administrator without one.
const PEOPLE = {
  alice: { roles: ['viewer'], amr: ['pwd', 'otp'] },
  bob: { roles: ['admin'], amr: ['pwd', 'otp'] },
  carol: { roles: ['viewer'], amr: ['pwd', 'otp'] },
  dave: { roles: ['admin'], amr: ['pwd'] },
} as const;

export async function startMetadata(env: Record<string, string> = {}): Promise<Harness> {
  const issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
  const home = await mkdtemp(join(tmpdir(), 'flixtube-metadata-'));
  const run = randomUUID().slice(0, 8);
  const subs = { alice: `alice-${run}`, bob: `bob-${run}`, carol: `carol-${run}`, dave: `dave-${run}` };
  const deleted: Harness['deleted'] = [];
  const service = await createMetadata({
    publishVideoDeleted: async (d) => {
      deleted.push(d);
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
  return {
    issuer,
    service,
    home,
    deleted,
    subs,
    token: (who) => issuer.token(subs[who], { claims: { ...PEOPLE[who], scope: 'openid videos' } }),
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
      const text = await readFile(join(home, 'audit', 'metadata.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await service.stop();
      await issuer.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
