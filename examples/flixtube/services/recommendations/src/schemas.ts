import { Type } from '@flotilla/kit';

export const RecommendationsQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }) },
  { additionalProperties: false },
);

export const RecommendationsBody = Type.Object({
  user: Type.String(),
  recommendations: Type.Array(
    Type.Object({
      videoId: Type.String(),
      /** null when metadata could not be asked (the video may still be shown). */
      title: Type.Union([Type.String(), Type.Null()]),
      score: Type.Integer({ minimum: 0 }),
      /** `co-viewed`: watched or liked by people who watched or liked what you did; `popular`: the fallback. */
      reason: Type.Union([Type.Literal('co-viewed'), Type.Literal('popular')]),
    }),
  ),
});
