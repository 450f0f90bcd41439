-- One content key per recipient envelope: every row of `messages` is now one
-- envelope (its own id, key and exactly one row in message_recipients). Rows
-- registered before this migration may have several recipients under one id
-- (format v1 envelopes sealed by older releases); they keep opening as before.

-- The From address the sender gave when registering (NULL for older rows).
ALTER TABLE messages ADD COLUMN from_address TEXT;

-- A sender token may be limited to From domains: a space-separated list of
-- lowercase domains, or NULL for any domain.
ALTER TABLE senders ADD COLUMN from_domains TEXT;
