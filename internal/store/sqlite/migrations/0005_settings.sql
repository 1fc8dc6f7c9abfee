-- Server-wide settings shared by every server on the database, such as the
-- user's model prices. Values are JSON.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
