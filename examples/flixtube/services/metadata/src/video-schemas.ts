import { Type } from '@flotilla/kit';

const title = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const description = Type.String({ maxLength: 5000 });

export const VideoParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

export const CreateVideo = Type.Object(
  { title, description: Type.Optional(description) },
  { additionalProperties: false },
);

export const UpdateVideo = Type.Object(
  { title: Type.Optional(title), description: Type.Optional(description) },
  { additionalProperties: false, minProperties: 1 },
);

export const VideoBody = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  owner: Type.String(),
  created: Type.String({ format: 'date-time' }),
  /**
   * `GET /videos/:id` only: what the caller may do with this video, decided by the same
   * policy that decides the request (the owner, roles, MFA), so a page offers only those.
   */
  actions: Type.Optional(Type.Object({ update: Type.Boolean(), delete: Type.Boolean() })),
});

export const VideoPage = Type.Object({
  videos: Type.Array(VideoBody),
  /** Pass as `?cursor=` for the next page; null on the last page. */
  next: Type.Union([Type.String(), Type.Null()]),
});
