-- One row per (person, video) liked: liking twice is still one like (the primary key).
CREATE TABLE likes (
  user_id text NOT NULL,
  video_id uuid NOT NULL,
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  PRIMARY KEY (video_id, user_id)
);
-- A video's count is by video_id (the primary key's prefix); a person's likes by user_id.
CREATE INDEX likes_by_user ON likes (user_id);

-- A person's favorites, listed newest first (`seq` orders those of the same millisecond).
CREATE TABLE favorites (
  user_id text NOT NULL,
  video_id uuid NOT NULL,
  seq bigserial NOT NULL UNIQUE,
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  PRIMARY KEY (user_id, video_id)
);
CREATE INDEX favorites_by_user ON favorites (user_id, created DESC, seq DESC);
CREATE INDEX favorites_by_video ON favorites (video_id);
