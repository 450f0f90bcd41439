-- The portal's sessions (docs/PORTAL.md), in the store so that every replica
-- knows them. The cookie is 256 random bits; only its SHA-256 is kept, so a
-- copy of the database gives no session to replay. The CSRF token is random
-- per session and useless without the cookie.
CREATE TABLE portal_sessions (
    id_hash       TEXT PRIMARY KEY,
    address       TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    client        TEXT
);

CREATE INDEX portal_sessions_by_address ON portal_sessions (address);
CREATE INDEX portal_sessions_by_expiry ON portal_sessions (expires_at);
