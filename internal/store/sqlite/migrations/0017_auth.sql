-- Authentication: the people who log in, the API keys services and people
-- send as bearer tokens, and the browsers' login sessions. Tokens are
-- stored only as HMACs keyed with the server's secret (package auth), so
-- the database alone gives none of them away.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL,
    email                TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('ADMIN', 'MEMBER', 'VIEWER')),
    password_hash        TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
-- Login finds a user by either, whatever their case.
CREATE UNIQUE INDEX users_username ON users(lower(username));
CREATE UNIQUE INDEX users_email ON users(lower(email));

-- A key with no user is a system key, for services; a user's key acts
-- with its user's role. Revoked keys stay listed nowhere but keep their
-- row, so what they did can still be told.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_user ON api_keys(user_id);

-- "sessions" are the traces' sessions; these are logins.
CREATE TABLE ui_sessions (
    token_hash   BLOB    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ui_sessions_user ON ui_sessions(user_id);

-- Incremented with every change that takes a credential's power away, in
-- the same transaction: servers poll this one row to know when their
-- cache of verified keys may be stale.
CREATE TABLE auth_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO auth_generation (id, generation) VALUES (1, 0);
