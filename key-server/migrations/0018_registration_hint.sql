-- The password hint chosen on the registration form ([portal] password_hint
-- = true, MailGate's "Password Hint" at registration): sealed under the
-- master key and bound to the address, as accounts.password_hint; copied
-- to the account when the registration is confirmed. NULL: none.
ALTER TABLE pending_registrations ADD COLUMN password_hint TEXT;
