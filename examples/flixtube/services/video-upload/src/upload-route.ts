import { callerOf, type ServiceApp, Type, type UserPolicy } from '@flotilla/kit';
import type { Catalogue } from './catalogue.js';
import { type IngestDeps, ingestVideo } from './ingest.js';

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

export interface UploadDeps extends IngestDeps {
  catalogue: Catalogue;
  policy: UserPolicy;
}

/**
 * `POST /uploads?title=…[&description=…]`: the raw video as the body (`Content-Type`
 * video/mp4 or video/webm). The policy (`video:Upload`) first, then the path every video
 * takes in (`ingestVideo`: type checks, the catalogue entry in metadata as the user, the
 * streamed put, `video-uploaded`); a failure after the entry exists removes the entry too.
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
      const authorization = req.headers.authorization ?? '';
      const { title, description } = req.query;
      const uploaded = await ingestVideo(deps, {
        declared: req.headers['content-type'],
        body: req.raw[Symbol.asyncIterator](),
        length: Number(req.headers['content-length'] ?? Number.NaN),
        actor: user.sub,
        entry: () => deps.catalogue.create({ title, ...(description ? { description } : {}) }, authorization),
        undoEntry: (id) => deps.catalogue.remove(id, authorization),
      });
      return reply.code(201).header('location', `/videos/${uploaded.id}`).send(uploaded);
    },
  );
}
