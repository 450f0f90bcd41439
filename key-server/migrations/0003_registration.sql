-- Registration, password reset and "Remember me" (issue 3).

-- When the current password was set: password expiry (MailGate's 60 days).
ALTER TABLE accounts ADD COLUMN password_set_at BIGINT;

-- Three security questions per account. Answers are stored as Argon2id
-- hashes of their normalised form, like passwords: they are secrets too.
CREATE TABLE security_answers (
    address      TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
    slot         BIGINT NOT NULL,
    question     TEXT NOT NULL,
    answer_hash  TEXT NOT NULL,
    PRIMARY KEY (address, slot)
);

-- Links sent by e-mail (confirm the address, reset the password): only the
-- SHA-256 of the token is kept, so a copy of the database cannot use them.
CREATE TABLE account_links (
    token_hash  TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    purpose     TEXT NOT NULL,           -- 'confirm' | 'reset'
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    failures    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX account_links_by_address ON account_links (address, purpose);

-- Earlier password hashes, newest first by set_at, for the policies that
-- refuse the last N (Trustwave: four).
CREATE TABLE password_history (
    address        TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    set_at         BIGINT NOT NULL
);

CREATE INDEX password_history_by_address ON password_history (address, set_at);

-- "Remember me on this computer" (medium-security messages): the browser
-- keeps a random token, the store its SHA-256.
CREATE TABLE remembered_browsers (
    token_hash  TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX remembered_browsers_by_address ON remembered_browsers (address);
