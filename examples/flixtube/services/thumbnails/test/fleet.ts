// A small fleet for the thumbnails worker, as in `flotilla up`: a real control plane,
// storage (the videos and posters buckets with the repository's bucket policies; data
// keys sealed locally), the bus (the embedded broker as its own process, or a RabbitMQ
// vhost of its own) and thumbnails, each with its workload identity (mTLS) and the
// repository's policies, unchanged. Stand-ins named `video-upload` (writes a video and
// sends video-uploaded), `metadata` (publishes video-deleted) and `gateway` (forwards
// the poster route) do what those services would, under their own identities.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { type Answer, answerOf } from '@flixtube/common/testing';
import { VIDEO_DELETED, VIDEO_UPLOADED, VideoDeleted, VideoUploaded } from '@flixtube/messages';
import { type RunningControl, startControl } from '@flotilla/control';
import { defineService, type RunningService } from '@flotilla/kit';
import { startStorage } from '@flotilla/storage';
import {
  fleetJoiner,
  policiesWithGrants,
  type RabbitVhost,
  rabbitVhost,
  spawnService,
  startTestIssuer,
  until,
} from '@flotilla/testing';
import { createThumbnails } from '../src/index.js';

const AUDIENCE = 'flixtube-api';
const POLICY_DIR = resolve(import.meta.dirname, '../../../../../policies');
const BROKER_MAIN = createRequire(import.meta.url).resolve('@flotilla/broker/main');

export type { Answer };

export interface PosterFleet {
  thumbnails: RunningService;
  /** The stand-in video-upload: what it may do with storage and the bus, it does. */
  uploader: RunningService;
  /** The stand-in metadata (publishes video-deleted). */
  metadata: RunningService;
  /** A video written to the videos bucket and announced on video-uploaded; its id. */
  upload(bytes: Buffer, contentType: string, videoId?: string): Promise<string>;
  /** video-deleted for `videoId`, as metadata announces it. */
  deleteVideo(videoId: string): Promise<void>;
  /** `GET /videos/:id/poster` through the stand-in gateway, with a viewer's token (or `token`). */
  poster(videoId: string, token?: string | null): Promise<Answer>;
  /** Waits for the poster of `videoId` (polling the route; fails after `ms`). */
  posterOf(videoId: string, ms?: number): Promise<Answer>;
  close(): Promise<void>;
}

export interface PosterFleetOptions {
  busUrl?: string;
  /** thumbnails' FFMPEG_PATH (default: ffmpeg on PATH). */
  ffmpegPath?: string;
  /** Where thumbnails' log lines go (default: nowhere). */
  logStream?: Writable;
  /** Leave the posters bucket out of storage (a misconfigured fleet). */
  withoutPosters?: boolean;
}

/** The buses to run on: the embedded broker always, RabbitMQ too when BUS_URL is set. */
export function busTransports(test: string): Array<{ name: string; busUrl: string | undefined }> {
  const url = process.env.BUS_URL;
  if (!url) console.warn(`BUS_URL is not set: ${test} runs on the embedded broker only, not RabbitMQ`);
  return [
    { name: 'the embedded broker', busUrl: undefined },
    ...(url ? [{ name: 'RabbitMQ', busUrl: url }] : []),
  ];
}

export async function startPosterFleet(opts: PosterFleetOptions = {}): Promise<PosterFleet> {
  const home = await mkdtemp(join(tmpdir(), 'flixtube-thumbnails-'));
  const closers: Array<() => Promise<unknown>> = [() => rm(home, { recursive: true, force: true })];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    // The repository's policies as they are: no grants added for the test.
    const policies = await policiesWithGrants(home, POLICY_DIR, '// no test grants\n');
    const control: RunningControl = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    closers.push(() => control.stop());
    const joined = fleetJoiner(control, { home, policies });
    const issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    closers.push(() => issuer.close());
    let vhost: RabbitVhost | undefined;
    if (opts.busUrl) {
      vhost = await rabbitVhost(opts.busUrl, 'flixtube-thumbnails');
      closers.push(() => (vhost as RabbitVhost).delete());
    } else {
      const broker = await spawnService(BROKER_MAIN, await joined('broker'));
      closers.push(() => broker.kill('SIGKILL'));
    }
    const bus = vhost ? { BUS_URL: vhost.url } : {};
    const started: RunningService[] = [];
    closers.push(async () => {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
    });
    const bucket = (name: string, contentTypes: string[]) => ({
      name,
      maxObjectSize: undefined,
      contentTypes,
      versioning: false,
      policyFile: join(POLICY_DIR, `buckets/${name}.cedar`),
    });
    started.push(
      await startStorage({
        env: { ...(await joined('storage')), STORAGE_LOCAL_KEY_FILE: join(home, 'storage.key') },
        buckets: [
          bucket('videos', ['video/*']),
          ...(opts.withoutPosters ? [] : [bucket('posters', ['image/*'])]),
        ],
        inMemoryDb: true,
      }),
    );
    const thumbnails = await createThumbnails().start({
      env: {
        ...(await joined('thumbnails')),
        ...bus,
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_URL: issuer.jwksUrl,
        POLICY_WATCH: 'false',
        ...(opts.ffmpegPath ? { FFMPEG_PATH: opts.ffmpegPath } : {}),
        ...(opts.logStream ? { LOG_LEVEL: 'info' } : {}),
      },
      ...(opts.logStream ? { logStream: opts.logStream } : {}),
    });
    started.push(thumbnails);
    const stand = async (name: string) => {
      const s = await defineService({ name, routes() {} }).start({
        env: { ...(await joined(name)), ...bus },
      });
      started.push(s);
      return s;
    };
    const [uploader, metadata, gateway] = [
      await stand('video-upload'),
      await stand('metadata'),
      await stand('gateway'),
    ];
    const viewer = await issuer.token(`alice-${randomUUID().slice(0, 8)}`, {
      claims: { roles: ['viewer'], amr: ['pwd'] },
    });

    const poster: PosterFleet['poster'] = async (videoId, token = viewer) => {
      const res = await gateway.ctx.call('thumbnails', {
        method: 'GET',
        path: `/videos/${encodeURIComponent(videoId)}/poster`,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return answerOf(res);
    };
    // Discovery routes only to a ready service: thumbnails is ready once it consumes both.
    await until(
      'thumbnails is ready (consuming)',
      async () => {
        const res = await poster(randomUUID());
        return res.status === 404 ? res : undefined;
      },
      60_000,
    );
    return {
      thumbnails,
      uploader,
      metadata,
      async upload(bytes, contentType, videoId = randomUUID()) {
        await uploader.ctx.storage.put('videos', videoId, bytes, {
          contentType,
          contentLength: bytes.length,
        });
        await uploader.ctx.bus.send(VIDEO_UPLOADED, VideoUploaded, {
          videoId,
          contentType,
          size: bytes.length,
        });
        return videoId;
      },
      async deleteVideo(videoId) {
        await metadata.ctx.bus.publish(VIDEO_DELETED, VideoDeleted, {
          videoId,
          at: new Date().toISOString(),
        });
      },
      poster,
      posterOf: (videoId, ms) =>
        until(
          `the poster of ${videoId}`,
          async () => {
            const res = await poster(videoId);
            return res.status === 200 ? res : undefined;
          },
          ms ?? 60_000,
        ),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
