-- A deleted video (`video-deleted`): its views are forgotten, and a `viewed` of it that
-- arrives late (at-least-once delivery, no order across topics) is not recorded again.
CREATE TABLE deleted_videos (
  video_id uuid PRIMARY KEY,
  deleted timestamptz NOT NULL DEFAULT now()
);
