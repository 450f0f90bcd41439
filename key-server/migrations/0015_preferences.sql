-- The portal's Preferences (docs/PORTAL.md, "Preferences").

-- Whether the recipient wants notification mails: 0 turns them off. The
-- key server's answer to a sender's registration says so (`notify`), and
-- the sender skips the notification of a pull message (its Inbox entry
-- stays). The key server's own account mails do not depend on it.
ALTER TABLE accounts ADD COLUMN notify_mail BIGINT NOT NULL DEFAULT 1;

-- The password hint ([portal] password_hint = true), sealed under the
-- master key and bound to the address (nonce, ciphertext and tag, base64):
-- never stored in the clear. NULL: none.
ALTER TABLE accounts ADD COLUMN password_hint TEXT;
