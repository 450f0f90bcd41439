-- One-time passcodes (docs/PORTAL.md, "One-time passcode"): a recipient
-- without an account reads one message with an 8-digit code mailed to them.

-- Whether this recipient of this envelope reads it with a one-time code:
-- the sender asked for it (`--security passcode`), or the key server's
-- `[portal] first_contact = "passcode"` decided it at registration, for an
-- address that had no confirmed account then. 0: the password, as before.
ALTER TABLE message_recipients ADD COLUMN passcode BIGINT NOT NULL DEFAULT 0;

-- The codes. Only an HMAC of the code is kept, under a key derived from
-- the master key, over (id, message, address, code): a copy of the database
-- alone cannot try the 10^8 codes offline. At most one live code per
-- (message, address): a new one deletes the older ones. `tries` is reserved
-- before the comparison, so no burst compares more than the limit. The
-- minute sweep deletes rows an hour after they expire.
CREATE TABLE passcodes (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL,
    address     TEXT NOT NULL,
    code_mac    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    tries       BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT
);

CREATE INDEX passcodes_by_message_address ON passcodes (message_id, address);
CREATE INDEX passcodes_by_address ON passcodes (address);
CREATE INDEX passcodes_by_expiry ON passcodes (expires_at);
