import { callerOf, type ServiceApp, type ServiceContext, Type } from '@flotilla/kit';
import { parseByteRange } from './byte-range.js';
import type { StreamTokens } from './stream-tokens.js';
import { readVideo } from './video-read.js';
import type { VideoLookup } from './video-lookup.js';
import { announceOnce, type ViewedPublisher } from './viewed.js';
import type { ViewingSessions } from './viewing-sessions.js';

export interface Deps {
  tokens: StreamTokens;
  lookup: VideoLookup;
  sessions: ViewingSessions;
  publish: ViewedPublisher;
  ctx: Pick<ServiceContext, 'call' | 'log'>;
  storage: string;
  bucket: string;
}

const VideoParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const StreamQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 4096 })) });
const StreamTicket = Type.Object({
  url: Type.String(),
  expires: Type.String({ format: 'date-time' }),
});

/** `POST /videos/:id/stream-token`, behind the user's access token (the caller registers requireUser). */
export function tokenRoutes(app: ServiceApp, { tokens, lookup }: Deps): void {
  app.post(
    '/videos/:id/stream-token',
    { schema: { params: VideoParams, response: { 200: StreamTicket } } },
    async (req, reply) => {
      const user = callerOf(req);
      // metadata, asked with the user's own token, says whether the video exists and
      // whether this user may watch it (Cedar video:Read).
      await lookup.visibleTo(req.params.id, req.headers.authorization as string);
      const { token, expires } = await tokens.issue(req.params.id, user.sub);
      reply.header('cache-control', 'no-store');
      return {
        url: `/api/videos/${req.params.id}/stream?token=${encodeURIComponent(token)}`,
        expires: expires.toISOString(),
      };
    },
  );
}

/**
 * `GET`/`HEAD /videos/:id/stream?token=…`: the browser's `<video>` asks with the stream
 * token, not an Authorization header. Token → video still in metadata → Range checked →
 * storage streams the bytes (206/200/416) → `viewed` once per session (GET only).
 */
export function streamRoutes(app: ServiceApp, deps: Deps): void {
  const { tokens, lookup, sessions, publish, ctx, storage, bucket } = deps;
  app.route({
    method: ['GET', 'HEAD'],
    url: '/videos/:id/stream',
    exposeHeadRoute: false,
    schema: { params: VideoParams, querystring: StreamQuery },
    handler: async (req, reply) => {
      const grant = await tokens.verify(req.query.token, req.params.id);
      const range = parseByteRange(req.headers.range);
      // Both at once: a seek's first byte waits for one round trip, not two. Metadata's
      // answer still decides: a video it no longer has is 404 and its bytes are dropped.
      const [exists, read] = await Promise.allSettled([
        lookup.exists(grant.videoId),
        readVideo(ctx, storage, bucket, grant.videoId, range),
      ]);
      if (exists.status === 'rejected') {
        if (read.status === 'fulfilled') discard(read.value.body);
        throw exists.reason;
      }
      if (read.status === 'rejected') throw read.reason;
      const video = read.value;
      // The URL carries a credential: neither it nor the bytes belong in a shared cache.
      reply.code(video.status).headers(video.headers).header('cache-control', 'private, no-store');
      if (req.method === 'HEAD') {
        // The headers are all a HEAD needs: stop storage's read.
        discard(video.body);
        return reply.send();
      }
      await announceOnce(grant, sessions, publish, ctx.log);
      return reply.send(video.body);
    },
  });
}

/** Stops a storage read nobody will consume (the abort it causes is expected, not an error). */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => undefined);
  body.destroy();
}
