-- Staff sending from the portal (docs/PORTAL.md, "Staff").

-- A staff account (`securedoc admin account create --internal`, or made at
-- the first login through the reverse proxy's single-sign-on header): an
-- address in `internal_domains` whose Compose offers the sender options
-- and may write to any address.
ALTER TABLE accounts ADD COLUMN internal BIGINT NOT NULL DEFAULT 0;

-- A staff member's Sent item names the sending it made (the portal
-- sender's `messages.sending_id`): the Sent view shows that sending's
-- status and controls it. The item belongs to one account, so the sending
-- is reached only through its owner.
ALTER TABLE private_items ADD COLUMN sending_id TEXT;
