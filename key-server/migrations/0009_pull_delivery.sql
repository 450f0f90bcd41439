-- Pull delivery (docs/PORTAL.md): the sender stores the sealed envelope at
-- the key server instead of attaching it, and the recipient reads it in the
-- portal. What is stored is ciphertext under the message's content key
-- (messages.sealed_key): once that key is shredded (expiry, revoke,
-- retention), the stored bytes are useless, and the sweep deletes them.

-- One stored envelope per envelope id (one recipient).
CREATE TABLE stored_envelopes (
    message_id  TEXT PRIMARY KEY REFERENCES messages (id),
    size        BIGINT NOT NULL,
    stored_at   BIGINT NOT NULL
);

-- Large values in rows of at most 1 MiB (before base64), so no row is tens
-- of megabytes and a reader can stream. `owner` names what they belong to:
-- `envelope:{message id}` for a stored envelope.
CREATE TABLE blob_chunks (
    owner  TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (owner, seq)
);

-- The portal's mailboxes: one row per message in someone's Inbox (later
-- Sent items and folders). The summary (subject, sender, size, number of
-- attachments) is taken from the message when it is stored and kept sealed
-- under the master key, bound to the row: the database holds no subject.
CREATE TABLE mailbox_entries (
    id              TEXT PRIMARY KEY,
    address         TEXT NOT NULL,
    box             TEXT NOT NULL,
    folder_id       TEXT,
    message_id      TEXT REFERENCES messages (id),
    summary_sealed  TEXT NOT NULL,
    at              BIGINT NOT NULL,
    read_at         BIGINT
);

-- The inbox listing: newest first by (at, id), page after page without OFFSET.
CREATE INDEX mailbox_listing ON mailbox_entries (address, box, folder_id, at, id);
CREATE INDEX mailbox_by_message ON mailbox_entries (message_id);
