-- Recipients' accounts. Registration (pages, e-mail confirmation) fills them;
-- key release reads them. Lockout state lives here, not in process memory,
-- so every replica sees it.
CREATE TABLE accounts (
    address         TEXT PRIMARY KEY,          -- lower-case
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    language        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,             -- PHC string, Argon2id
    phrase          TEXT,
    phrase_enabled  BIGINT NOT NULL DEFAULT 0,
    confirmed_at    BIGINT,
    disabled_at     BIGINT,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL
);

-- Every key-release attempt: who, which message, from where, what happened.
-- Also the per-client-address rate limit's memory.
CREATE TABLE audit (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    account     TEXT,
    message_id  TEXT,
    client      TEXT NOT NULL,
    outcome     TEXT NOT NULL
);

CREATE INDEX audit_by_client ON audit (client, at);
CREATE INDEX audit_by_message ON audit (message_id);
