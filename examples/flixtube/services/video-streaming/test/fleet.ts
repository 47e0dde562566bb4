// A small fleet for video-streaming's tests: a real control plane, a KMS (the key that
// seals the stream-token key), storage (the videos bucket, local data keys), metadata, video-streaming, and the bus (the embedded broker
// as its own process, or a RabbitMQ vhost of its own), each with its workload identity
// (mTLS) and the repository's policies. Stand-ins named `gateway`, `video-upload` and
// `history` make the calls those services would, under their own identities.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Answer, answerOf } from '@flixtube/common/testing';
import { createMetadata } from '@flixtube/metadata';
import { Viewed, VIEWED } from '@flixtube/messages';
import { type RunningControl, startControl } from '@flotilla/control';
import { defineService, type MessageBody, openDb, type RunningService } from '@flotilla/kit';
import { StorageClient, storageOverCall } from '@flotilla/kit/contracts';
import { createKmsService } from '@flotilla/kms';
import { startStorage } from '@flotilla/storage';
import {
  fleetJoiner,
  policiesWithGrants,
  type RabbitVhost,
  rabbitVhost,
  type ServiceProcess,
  spawnService,
  startTestIssuer,
  type TestIssuer,
} from '@flotilla/testing';
import { createVideoStreaming } from '../src/index.js';

export const AUDIENCE = 'flixtube-api';
const REPO = resolve(import.meta.dirname, '../../../../..');
const POLICY_DIR = join(REPO, 'policies');
const BROKER_MAIN = createRequire(import.meta.url).resolve('@flotilla/broker/main');

// video-upload is the bucket's writer (its grant comes with the upload service); the test
// stands in for it with this one grant, beside the repository's policies.
const UPLOADER_GRANT = `@id("test-video-upload-writes-videos")
permit (principal == Service::"video-upload", action == Action::"storage:PutObject", resource in Bucket::"videos");
`;

export type { Answer };

export interface StreamFleet {
  issuer: TestIssuer;
  streaming: RunningService;
  /** A second instance sharing the first one's database (with `sharedDb`). */
  twin: RunningService | undefined;
  /** Each `viewed` message seen by the stand-in `history` subscriber. */
  viewed: Array<MessageBody<typeof Viewed>>;
  /** storage as video-upload sees it, and as video-streaming does. */
  uploader: StorageClient;
  streamer: StorageClient;
  person(sub: string, roles?: string[]): Promise<string>;
  /** A call through the stand-in gateway, as the real one forwards it. */
  call(service: string, method: string, path: string, headers?: Record<string, string>): Promise<Answer>;
  /** A video in metadata (created by bob) with `bytes` as its file in the videos bucket. */
  video(bytes: Buffer, title?: string): Promise<string>;
  /** A stand-in service of the fleet by that name (already started ones are reused). */
  stand(name: string): Promise<RunningService>;
  /** For a process joining the same fleet (the benchmark's gateway). */
  control: RunningControl;
  home: string;
  joined(service: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * `sharedDb`: a PostgreSQL URL; video-streaming then runs twice on it (`streaming` and
 * `twin`), as several instances of the service do.
 */
export async function startStreamFleet(opts: { busUrl?: string; sharedDb?: string }): Promise<StreamFleet> {
  const home = await mkdtemp(join(tmpdir(), 'flixtube-streaming-'));
  const closers: Array<() => Promise<unknown>> = [() => rm(home, { recursive: true, force: true })];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const policies = await policiesWithGrants(home, POLICY_DIR, UPLOADER_GRANT);
    const control: RunningControl = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    closers.push(() => control.stop());
    const joined = fleetJoiner(control, { home, policies });
    const issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    closers.push(() => issuer.close());
    let vhost: RabbitVhost | undefined;
    if (opts.busUrl) {
      vhost = await rabbitVhost(opts.busUrl, 'flixtube-streaming');
      closers.push(() => (vhost as RabbitVhost).delete());
    }
    const users = { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl, POLICY_WATCH: 'false' };
    const bus = vhost ? { BUS_URL: vhost.url } : {};
    const started: RunningService[] = [];
    closers.push(async () => {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
    });
    if (!vhost) {
      const broker: ServiceProcess = await spawnService(BROKER_MAIN, await joined('broker'));
      closers.push(() => broker.kill('SIGKILL'));
    }
    // The KMS, with the fleet's `stream-tokens` key. Its root key is made here, per run.
    await writeFile(join(home, 'keys.json'), JSON.stringify([{ name: 'stream-tokens' }]));
    const kms = await createKmsService().start({
      env: {
        ...(await joined('kms')),
        FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
        KMS_KEYS_FILE: join(home, 'keys.json'),
      },
      inMemoryDb: true,
    });
    started.push(kms);
    const storage = await startStorage({
      env: { ...(await joined('storage')), STORAGE_LOCAL_KEY_FILE: join(home, 'storage.key') },
      buckets: [
        {
          name: 'videos',
          maxObjectSize: undefined,
          contentTypes: ['video/*'],
          versioning: false,
          policyFile: join(POLICY_DIR, 'buckets/videos.cedar'),
        },
      ],
      inMemoryDb: true,
    });
    started.push(storage);
    const metadata = await createMetadata().start({
      env: { ...(await joined('metadata')), ...users, ...bus },
      inMemoryDb: true,
    });
    started.push(metadata);
    // A shared PostgreSQL outlives the run, and its sealed stream-token key was sealed by
    // an earlier run's KMS (a fresh root key each run): forget it, as an operator resetting
    // the KMS would (the next start seals a new one).
    if (opts.sharedDb) {
      const db = await openDb({ service: 'video-streaming', url: opts.sharedDb });
      await db.query(
        `DO $$ BEGIN IF to_regclass('stream_keys') IS NOT NULL THEN DELETE FROM stream_keys; END IF; END $$`,
      );
      await db.close();
    }
    const startStreaming = async () => {
      const s = await createVideoStreaming().start({
        env: {
          ...(await joined('video-streaming')),
          ...users,
          ...bus,
          ...(opts.sharedDb ? { DATABASE_URL: opts.sharedDb } : {}),
        },
        inMemoryDb: !opts.sharedDb,
      });
      started.push(s);
      return s;
    };
    const streaming = await startStreaming();
    const twin = opts.sharedDb ? await startStreaming() : undefined;
    const stands = new Map<string, RunningService>();
    const stand = async (name: string) => {
      const known = stands.get(name);
      if (known) return known;
      const s = await defineService({ name, routes() {} }).start({
        env: { ...(await joined(name)), ...bus },
      });
      started.push(s);
      stands.set(name, s);
      return s;
    };
    const gateway = await stand('gateway');
    const upload = await stand('video-upload');
    const history = await stand('history');
    const viewed: Array<MessageBody<typeof Viewed>> = [];
    await history.ctx.bus.subscribe(VIEWED, Viewed, async (view) => {
      viewed.push(view);
    });

    const call: StreamFleet['call'] = async (service, method, path, headers = {}) => {
      return answerOf(await gateway.ctx.call(service, { method, path, headers }));
    };
    const person = (sub: string, roles = ['viewer']) =>
      issuer.token(sub, { claims: { roles, amr: ['pwd', 'otp'] } });
    const uploader = new StorageClient(storageOverCall((s, r) => upload.ctx.call(s, r)));
    const streamer = new StorageClient(storageOverCall((s, r) => streaming.ctx.call(s, r)));
    const bob = await person(`bob-${randomBytes(4).toString('hex')}`, ['admin']);
    const video: StreamFleet['video'] = async (bytes, title = 'A test video') => {
      const res = await gateway.ctx.call('metadata', {
        method: 'POST',
        path: '/videos',
        headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      const json = (await res.body.json()) as { id: string };
      if (res.statusCode !== 201) throw new Error(`metadata answered ${res.statusCode}`);
      await uploader.put('videos', json.id, bytes, { contentType: 'video/mp4', contentLength: bytes.length });
      return json.id;
    };
    return {
      issuer,
      streaming,
      twin,
      viewed,
      uploader,
      streamer,
      person,
      call,
      video,
      stand,
      control,
      home,
      joined,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
