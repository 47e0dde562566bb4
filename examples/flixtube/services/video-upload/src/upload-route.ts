import { VIDEO_UPLOADED, VideoUploaded } from '@flixtube/messages';
import {
  callerOf,
  FlotillaError,
  type ServiceApp,
  type ServiceContext,
  Type,
  type UserPolicy,
} from '@flotilla/kit';
import type { Catalogue } from './catalogue.js';
import { declaredVideoType, peek, SNIFF_BYTES, sniffVideo } from './sniff.js';

/** The route the gateway forwards `POST /api/uploads` from: the Cedar resource decided again here. */
const UPLOAD_ROUTE = {
  uid: { type: 'Route', id: 'POST /api/uploads' },
  attrs: { method: 'POST', path: '/api/uploads' },
};

const UploadQuery = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
  },
  { additionalProperties: false },
);

const Uploaded = Type.Object({
  id: Type.String(),
  title: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
});

export interface UploadDeps {
  ctx: Pick<ServiceContext, 'storage' | 'bus' | 'log' | 'audit'>;
  catalogue: Catalogue;
  policy: UserPolicy;
  bucket: string;
}

/**
 * `POST /uploads?title=…[&description=…]`: the raw video as the body (`Content-Type`
 * video/mp4 or video/webm). In order: the policy (`video:Upload`), the declared type, the
 * sniffed first bytes (a mismatch is 415 before anything is written), the catalogue entry
 * in metadata (as the user), the bytes streamed into the bucket (`<videoId>`; the bucket's
 * limit refuses a larger file while streaming, 413), then `video-uploaded` on the queue.
 * A failure after the entry exists removes what was written: nothing half-written.
 */
export function uploadRoutes(app: ServiceApp, deps: UploadDeps): void {
  // The body is never parsed: it streams from the socket into storage.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.post(
    '/uploads',
    {
      schema: { querystring: UploadQuery, response: { 201: Uploaded } },
      // A refusal before the body's end: close the connection rather than read bytes nobody wants.
      onError: async (req, reply) => {
        if (!req.raw.complete) reply.header('connection', 'close');
      },
    },
    async (req, reply) => {
      const user = callerOf(req);
      await deps.policy.require(user, 'video:Upload', UPLOAD_ROUTE, 'you may not upload videos');
      const declared = declaredVideoType(req.headers['content-type']);
      if (!declared) throw new FlotillaError('FLT_MEDIA_TYPE', 'an upload must be video/mp4 or video/webm');
      const { head, whole } = await peek(req.raw[Symbol.asyncIterator](), SNIFF_BYTES);
      if (head.length === 0) throw new FlotillaError('FLT_VALIDATION', 'the upload is empty');
      const sniffed = sniffVideo(head);
      if (sniffed !== declared)
        throw new FlotillaError(
          'FLT_MEDIA_TYPE',
          sniffed
            ? `the file is ${sniffed}, not the declared ${declared}`
            : `the file is not a video (${declared} declared)`,
        );

      const authorization = req.headers.authorization ?? '';
      const entry = await deps.catalogue.create(
        { title: req.query.title, ...(req.query.description ? { description: req.query.description } : {}) },
        authorization,
      );
      const length = Number(req.headers['content-length'] ?? Number.NaN);
      let stored = false;
      try {
        const put = await deps.ctx.storage.put(deps.bucket, entry.id, whole, {
          contentType: declared,
          ifNoneMatch: '*',
          ...(Number.isSafeInteger(length) ? { contentLength: length } : {}),
        });
        stored = true;
        await deps.ctx.bus.send(VIDEO_UPLOADED, VideoUploaded, {
          videoId: entry.id,
          contentType: declared,
          size: put.size,
        });
        await deps.ctx.audit({
          actor: user.sub,
          action: 'video.upload',
          target: `${deps.bucket}/${entry.id}`,
          outcome: 'success',
          details: { size: put.size, contentType: declared },
        });
        return reply
          .code(201)
          .header('location', `/videos/${entry.id}`)
          .send({ id: entry.id, title: entry.title, contentType: declared, size: put.size });
      } catch (err) {
        await undo(deps, entry.id, stored, authorization);
        throw err;
      }
    },
  );
}

/** Removes what a failed upload wrote (its object, then its entry); a failure here is logged, the upload's error stands. */
async function undo(deps: UploadDeps, id: string, stored: boolean, authorization: string): Promise<void> {
  if (stored)
    await deps.ctx.storage
      .delete(deps.bucket, id)
      .catch((err: unknown) =>
        deps.ctx.log.error({ err, videoId: id }, 'could not delete the object of a failed upload'),
      );
  await deps.catalogue
    .remove(id, authorization)
    .catch((err: unknown) =>
      deps.ctx.log.error({ err, videoId: id }, 'could not delete the catalogue entry of a failed upload'),
    );
}
