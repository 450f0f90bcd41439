-- Issue 6: registrations that cannot take over an account, and mail through a
-- queue in the store.

-- One row per registration until it is confirmed. A registration never
-- touches another one nor an account: its link (only the SHA-256 of the token
-- is kept) confirms exactly this row, and only with the password chosen on
-- this registration. The first one confirmed becomes the account and voids
-- the others for its address.
CREATE TABLE pending_registrations (
    token_hash     TEXT PRIMARY KEY,
    address        TEXT NOT NULL,             -- lower-case
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    language       TEXT NOT NULL,
    password_hash  TEXT NOT NULL,             -- PHC string, Argon2id
    phrase         TEXT,
    answers        TEXT NOT NULL,             -- JSON: [[question id, answer hash], ...]
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    failures       BIGINT NOT NULL DEFAULT 0  -- wrong passwords on the confirm page
);

CREATE INDEX pending_registrations_by_address ON pending_registrations (address);

-- Mail the key server sends, queued: handlers answer at once whatever the
-- relay does, and a worker (on every replica) claims rows one at a time, so
-- no mail goes out twice. The body is deleted as soon as it is sent (it
-- holds a link); sent and failed rows go after a retention.
CREATE TABLE mail_outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,           -- confirm | already | reset
    recipient        TEXT NOT NULL,
    message          TEXT,                    -- the rendered message, base64; NULL once sent
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    failed_at        BIGINT                   -- gave up after the last attempt
);

CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, failed_at, next_attempt_at);
