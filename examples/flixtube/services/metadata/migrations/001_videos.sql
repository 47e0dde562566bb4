-- Videos, listed newest first. `created` is kept at millisecond precision so that a
-- page cursor (a JavaScript Date) names an exact time; `seq` orders videos created in
-- the same millisecond by when they were added.
CREATE TABLE videos (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  owner text NOT NULL,
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX videos_newest ON videos (created DESC, seq DESC);
