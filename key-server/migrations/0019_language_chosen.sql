-- Whether the account's language was chosen by a person (the owner at
-- registration or in Preferences, an administrator with --language): then
-- every portal page speaks it. An account the key server made by itself (a
-- first-time password, a single sign-on) has a guess (the sender's
-- language, the browser's), and its pages follow the browser until the
-- owner chooses.
ALTER TABLE accounts ADD COLUMN language_chosen BIGINT NOT NULL DEFAULT 1;
