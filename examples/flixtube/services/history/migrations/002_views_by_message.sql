-- Views arrive as `viewed` messages (at least once): the message id makes recording one
-- idempotent (INSERT … ON CONFLICT (message_id) DO NOTHING). Views recorded before
-- messages have none; a unique column allows many NULLs.
ALTER TABLE views ADD COLUMN message_id text UNIQUE;
