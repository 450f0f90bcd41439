-- Account lifecycle (docs/PORTAL.md, "Account lifecycle"): password expiry
-- warnings, disabling after inactivity, deleting after that, run by the
-- minute sweep.

-- The last right password (portal login or key release), or when an
-- administrator last enabled the account: inactivity counts from it. NULL
-- (every row before this migration, and accounts nobody has logged in to
-- yet) counts from confirmed_at, else created_at.
ALTER TABLE accounts ADD COLUMN last_login_at BIGINT;

-- The password_set_at the expiry warning was mailed for: one mail per
-- password, claimed by a conditional UPDATE so that several replicas send
-- it once.
ALTER TABLE accounts ADD COLUMN expiry_warned_for BIGINT;

-- Why disabled_at is set: 'admin' (securedoc admin account disable; never
-- deleted by the sweep) or 'inactive' (the sweep; deleted after
-- [accounts] delete_after_days).
ALTER TABLE accounts ADD COLUMN disabled_reason TEXT;
UPDATE accounts SET disabled_reason = 'admin' WHERE disabled_at IS NOT NULL;

CREATE INDEX accounts_disabled ON accounts (disabled_reason, disabled_at);
