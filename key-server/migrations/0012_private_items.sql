-- What recipients keep in the portal besides the messages sent to them
-- (docs/PORTAL.md): copies of what they sent (Sent items) and, later,
-- drafts. Each item is encrypted under a key of its own, kept here only
-- sealed under the master key (`sealed_key`); its ciphertext is in
-- `blob_chunks` under `item:{id}`. Deleting (retention, the account) clears
-- the key first, then the chunks and the row.
CREATE TABLE private_items (
    id          TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sealed_key  TEXT,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX private_items_by_address ON private_items (address, kind);

-- A Sent items entry points at its item instead of a message.
ALTER TABLE mailbox_entries ADD COLUMN item_id TEXT;
CREATE INDEX mailbox_by_item ON mailbox_entries (item_id);
