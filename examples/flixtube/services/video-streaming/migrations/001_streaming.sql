-- The key stream tokens are signed with (HS256): made once by whichever instance starts
-- first (INSERT … ON CONFLICT DO NOTHING), then read by every instance, so a token one
-- instance issued is accepted by all. It lives only in this service's own database.
CREATE TABLE stream_keys (
  id smallint PRIMARY KEY CHECK (id = 1),
  secret bytea NOT NULL CHECK (octet_length(secret) = 32),
  created timestamptz NOT NULL DEFAULT now()
);

-- One row per viewing session (a stream token's `sid`): the first range request of a
-- session inserts it and publishes `viewed`; the next ones find it and publish nothing.
CREATE TABLE viewing_sessions (
  session_id text PRIMARY KEY,
  video_id uuid NOT NULL,
  viewer text NOT NULL,
  started timestamptz NOT NULL DEFAULT now()
);
