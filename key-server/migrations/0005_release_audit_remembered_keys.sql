-- Key release hardening (issue 6).

-- The audit trail aggregates: one row per (outcome, client, account,
-- message) and hour, with a count and the last time it happened, so a
-- flood of refused requests adds to a count instead of filling the disk.
-- Rows older than `audit_retention_days` (by last_at) are deleted.
ALTER TABLE audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
UPDATE audit SET last_at = at;
CREATE INDEX audit_by_last_at ON audit (last_at);
CREATE INDEX audit_by_account ON audit (account, outcome);

-- "Remember me": the public half of a non-extractable ECDSA P-256 key the
-- browser keeps (IndexedDB). A remembered request is signed with it, over
-- the message, the recipient and the request's own ephemeral key, so
-- nothing a page could read from the browser's storage stands in for the
-- password. Raw uncompressed public key (65 bytes), base64.
CREATE TABLE remembered_keys (
    id          TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX remembered_keys_by_address ON remembered_keys (address);

-- The bearer tokens "Remember me" used before: any page on file:// could
-- read them. Every remembered browser signs in again once.
DROP TABLE remembered_browsers;
