-- First contact by temporary password (docs/PORTAL.md, "First contact"):
-- the key server creates the account when the first message for an address
-- is stored, mails a first-time password once, and the first login must
-- choose a new one. Until then the account may do nothing else.
ALTER TABLE accounts ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

-- What a session may do: everything (`full`), or only choose a new password
-- (`change_password`, after logging in with a temporary one).
ALTER TABLE portal_sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
