import { randomUUID } from 'node:crypto';
import type { VideoDeleted } from '@flixtube/messages';
import {
  callerOf,
  FlotillaError,
  type MessageBody,
  type ServiceApp,
  type ServiceContext,
  type UserPolicy,
} from '@flotilla/kit';
import { decodeCursor, encodeCursor } from './cursor.js';
import { videoEntity } from './video-entity.js';
import { CreateVideo, ListQuery, UpdateVideo, VideoBody, VideoPage, VideoParams } from './video-schemas.js';
import type { Video, VideoStore } from './video-store.js';

/** Announces a deletion: by default `ctx.bus.publish('video-deleted', …)`; tests pass their own. */
export type DeletePublisher = (deleted: MessageBody<typeof VideoDeleted>) => Promise<void>;

const notFound = (id: string) => new FlotillaError('FLT_NOT_FOUND', `video ${id} does not exist`);

/** The video routes; every one needs a signed-in caller and the policy's permission. */
export function videoRoutes(
  app: ServiceApp,
  store: VideoStore,
  access: UserPolicy,
  publishDeleted: DeletePublisher,
  log: ServiceContext['log'],
): void {
  app.get('/videos', { schema: { querystring: ListQuery, response: { 200: VideoPage } } }, async (req) => {
    const user = callerOf(req);
    const { limit, cursor } = req.query;
    const rows = await store.list(limit, cursor === undefined ? undefined : decodeCursor(cursor));
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      // A list shows only what the policy lets this caller read.
      videos: page.filter((v) => access.allows(user, 'video:Read', videoEntity(v))).map(toBody),
      next: rows.length > limit && last ? encodeCursor(last) : null,
    };
  });

  app.get('/videos/:id', { schema: { params: VideoParams, response: { 200: VideoBody } } }, async (req) => {
    const video = await store.get(req.params.id);
    if (!video) throw notFound(req.params.id);
    const user = callerOf(req);
    const entity = videoEntity(video);
    await access.require(user, 'video:Read', entity, 'you may not watch this video');
    const actions = {
      update: access.allows(user, 'video:Update', entity),
      delete: access.allows(user, 'video:Delete', entity),
    };
    return { ...toBody(video), actions };
  });

  app.post('/videos', { schema: { body: CreateVideo, response: { 201: VideoBody } } }, async (req, reply) => {
    const user = callerOf(req);
    const draft = {
      id: randomUUID(),
      title: req.body.title,
      description: req.body.description ?? '',
      owner: user.sub,
    };
    // Creating is writing a video you will own: the same rule as updating one, so disabled
    // accounts or clients are refused alike (`video:Create` is the gateway's, on the route).
    await access.require(user, 'video:Update', videoEntity(draft), 'you may not add videos');
    const video = await store.create(draft);
    return reply.code(201).header('location', `/videos/${video.id}`).send(toBody(video));
  });

  app.patch(
    '/videos/:id',
    { schema: { params: VideoParams, body: UpdateVideo, response: { 200: VideoBody } } },
    async (req) => {
      const video = await store.get(req.params.id);
      if (!video) throw notFound(req.params.id);
      await access.require(
        callerOf(req),
        'video:Update',
        videoEntity(video),
        'you may not change this video',
      );
      const updated = await store.update(video.id, req.body);
      if (!updated) throw notFound(req.params.id);
      return toBody(updated);
    },
  );

  app.delete('/videos/:id', { schema: { params: VideoParams } }, async (req, reply) => {
    const video = await store.get(req.params.id);
    if (!video) throw notFound(req.params.id);
    await access.require(callerOf(req), 'video:Delete', videoEntity(video), 'you may not delete this video');
    if (!(await store.delete(video.id))) throw notFound(req.params.id);
    // The video is gone from the catalogue whatever the bus says: a failed announcement is
    // logged (likes, recommendations, history keep an orphan the catalogue no longer shows).
    await publishDeleted({ videoId: video.id, at: new Date().toISOString() }).catch((err: unknown) =>
      log.error({ err, videoId: video.id }, 'video-deleted could not be published'),
    );
    return reply.code(204).send();
  });
}

function toBody({ id, title, description, owner, created }: Video) {
  return { id, title, description, owner, created: created.toISOString() };
}
