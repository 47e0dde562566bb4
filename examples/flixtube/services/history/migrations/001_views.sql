-- One row per view. `viewer` is the token's subject; a user's history is read by
-- viewer, newest first. `viewed` has millisecond precision so a Date names a row exactly.
CREATE TABLE views (
  id uuid PRIMARY KEY,
  viewer text NOT NULL,
  video_id uuid NOT NULL,
  viewed timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX views_by_viewer ON views (viewer, viewed DESC, id DESC);
