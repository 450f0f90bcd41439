-- The portal's folders and address book (docs/PORTAL.md). Names and
-- addresses are personal data: every one is sealed under the master key,
-- bound to its table and row, so the database holds none in the clear.
-- What must be unique per account (a folder's name, a group's name, a
-- contact's e-mail) is checked after decrypting, under a lock on the
-- account's row; the limits (100 folders, 1000 contacts, 100 groups) too.

-- An Inbox entry in a folder has mailbox_entries.folder_id set to its id;
-- deleting the folder sets it back to NULL (the Inbox) first.
CREATE TABLE folders (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    name_sealed  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE INDEX folders_by_address ON folders (address);

-- First name, last name and e-mail, sealed together (JSON).
CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX contacts_by_address ON contacts (address);

CREATE TABLE contact_groups (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    name_sealed  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE INDEX contact_groups_by_address ON contact_groups (address);

-- Deleting a contact or a group deletes its memberships.
CREATE TABLE contact_group_members (
    group_id    TEXT NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, contact_id)
);

CREATE INDEX contact_group_members_by_contact ON contact_group_members (contact_id);
