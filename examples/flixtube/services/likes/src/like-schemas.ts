import { Type } from '@flotilla/kit';

export const VideoParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const FavoritesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

/** A video's likes as the caller sees them. */
export const LikesBody = Type.Object({
  videoId: Type.String(),
  likes: Type.Integer({ minimum: 0 }),
  liked: Type.Boolean(),
  favorited: Type.Boolean(),
});

export const FavoritesPage = Type.Object({
  favorites: Type.Array(
    Type.Object({ videoId: Type.String(), favorited: Type.String({ format: 'date-time' }) }),
  ),
  /** Pass as `?cursor=` for the next page; null on the last. */
  next: Type.Union([Type.String(), Type.Null()]),
});
