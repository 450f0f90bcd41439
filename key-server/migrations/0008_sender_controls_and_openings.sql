-- The sender's view of a message after sending: which sending an envelope
-- belongs to, who opened it, and the sender's language for read receipts.

-- One registration call (one sending, to any number of recipients) gets a
-- random 128-bit id of its own, shared by its envelopes: the id the sender
-- uses to see and control the message. NULL for rows registered before.
ALTER TABLE messages ADD COLUMN sending_id TEXT;
-- The language the sender's read receipts are written in (`en`, `fr`).
ALTER TABLE messages ADD COLUMN sender_lang TEXT;

CREATE INDEX messages_by_sending ON messages (sending_id);

-- Per (envelope, recipient): the openings (successful key releases) and the
-- replies sent. `open_count` moves from 0 to 1 exactly once, in one UPDATE,
-- so "first opening" (the read receipt) is decided by the store, atomically,
-- whatever the number of parallel releases or replicas.
ALTER TABLE message_recipients ADD COLUMN open_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE message_recipients ADD COLUMN first_opened_at BIGINT;
ALTER TABLE message_recipients ADD COLUMN last_opened_at BIGINT;
-- The client address of the last opening (at most 64 characters).
ALTER TABLE message_recipients ADD COLUMN last_client TEXT;
ALTER TABLE message_recipients ADD COLUMN replies_sent BIGINT NOT NULL DEFAULT 0;
