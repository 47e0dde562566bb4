-- The stream-token key is sealed by the fleet's KMS (key `stream-tokens`) instead of
-- kept as plain bytes. The plain key is dropped: tokens signed with it (minutes-long)
-- stop working, and the next start makes a sealed one.
DELETE FROM stream_keys;
ALTER TABLE stream_keys DROP COLUMN secret;
ALTER TABLE stream_keys ADD COLUMN sealed text NOT NULL;
