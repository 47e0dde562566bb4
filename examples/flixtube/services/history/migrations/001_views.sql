-- One row per view. `viewer` is the token's subject; a user's history is read by
-- viewer, newest first (`seq` orders views within the same millisecond).
CREATE TABLE views (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  viewer text NOT NULL,
  video_id uuid NOT NULL,
  viewed timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX views_by_viewer ON views (viewer, viewed DESC, seq DESC);
