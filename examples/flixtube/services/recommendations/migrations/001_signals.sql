-- What recommendations learns from the bus. Views: one row per `viewed` message (the
-- message id makes recording idempotent: a redelivery is not a second view).
CREATE TABLE views (
  message_id text PRIMARY KEY,
  user_id text NOT NULL,
  video_id uuid NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX views_by_user ON views (user_id);
CREATE INDEX views_by_video ON views (video_id);

-- Likes: the latest state per (person, video), from `liked` messages. An older message
-- arriving late does not undo a newer one (`at` decides), so a redelivery changes nothing.
CREATE TABLE likes (
  user_id text NOT NULL,
  video_id uuid NOT NULL,
  liked boolean NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (user_id, video_id)
);
CREATE INDEX likes_by_video ON likes (video_id);

-- Videos metadata deleted (`video-deleted`): their signals are dropped, and a view or like
-- of one that arrives after the deletion is not recorded.
CREATE TABLE deleted_videos (
  video_id uuid PRIMARY KEY,
  at timestamptz NOT NULL
);
