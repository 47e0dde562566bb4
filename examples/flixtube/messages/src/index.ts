import { defineMessage, Type } from '@flotilla/kit';

/**
 * FlixTube's messages. Each is defined once, here, and imported by whoever sends and
 * whoever receives it, so both ends check the same schema (on send and on receipt).
 * The constants name the queue or topic each travels on; the fleet file declares who
 * uses which, and policies/iam.cedar decides who may.
 */

const VideoId = Type.String({ format: 'uuid', description: "the video's id in metadata" });

/** Topic `viewed` (multiple-recipient): history and recommendations each get a copy. */
export const VIEWED = 'viewed';
export const Viewed = defineMessage(
  VIEWED,
  Type.Object(
    {
      videoId: VideoId,
      /** The viewer's `sub`, from the identity the gateway forwarded and the publisher verified. */
      userId: Type.String({ minLength: 1, maxLength: 255 }),
      /** One viewing session (a player's page load), so range requests count as one view. */
      sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      at: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
);

/** Queue `video-uploaded` (single-recipient): one thumbnails worker handles each upload. */
export const VIDEO_UPLOADED = 'video-uploaded';
export const VideoUploaded = defineMessage(
  VIDEO_UPLOADED,
  Type.Object(
    {
      videoId: VideoId,
      contentType: Type.String({ pattern: '^video/[a-z0-9.+-]{1,60}$' }),
      size: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: false },
  ),
);

/** Topic `liked` (multiple-recipient): a like or its removal, for recommendations. */
export const LIKED = 'liked';
export const Liked = defineMessage(
  LIKED,
  Type.Object(
    {
      videoId: VideoId,
      userId: Type.String({ minLength: 1, maxLength: 255 }),
      /** False when the user took the like back. */
      liked: Type.Boolean(),
      at: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
);

/** Topic `video-deleted` (multiple-recipient): every service forgets what it kept of the video. */
export const VIDEO_DELETED = 'video-deleted';
export const VideoDeleted = defineMessage(
  VIDEO_DELETED,
  Type.Object(
    { videoId: VideoId, at: Type.String({ format: 'date-time' }) },
    { additionalProperties: false },
  ),
);
