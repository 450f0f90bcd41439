-- One set of migrations for SQLite and PostgreSQL: portable types only
-- (TEXT, BIGINT), binary values as base64 text, ids as random hex text.

-- Senders: people or systems allowed to register messages, by API token.
CREATE TABLE senders (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the token. Tokens are 256 random bits, so a fast hash
    -- is right here (nothing to brute-force), unlike passwords.
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Messages: one per sealed message, whatever the number of recipients.
CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    sender_id    TEXT NOT NULL REFERENCES senders (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    flags        TEXT NOT NULL,
    security     TEXT NOT NULL,
    -- The content key sealed under the master key (base64 of nonce, ciphertext
    -- and tag); NULL once expired, revoked or past retention: crypto-shredded.
    sealed_key   TEXT,
    locked       BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT
);

CREATE TABLE message_recipients (
    message_id  TEXT NOT NULL REFERENCES messages (id),
    address     TEXT NOT NULL,
    PRIMARY KEY (message_id, address)
);

CREATE INDEX message_recipients_by_address ON message_recipients (address);
