import { Type } from '@flotilla/kit';

export const HistoryQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }) },
  { additionalProperties: false },
);

export const UserParams = Type.Object(
  { userId: Type.String({ minLength: 1, maxLength: 255 }) },
  { additionalProperties: false },
);

const ViewBody = Type.Object({
  id: Type.String(),
  videoId: Type.String(),
  /** null when the video is gone or metadata could not be asked. */
  title: Type.Union([Type.String(), Type.Null()]),
  viewed: Type.String({ format: 'date-time' }),
});

export const HistoryBody = Type.Object({
  user: Type.String(),
  views: Type.Array(ViewBody),
});
