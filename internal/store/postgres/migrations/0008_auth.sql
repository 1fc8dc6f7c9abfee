-- Authentication: the people who log in, the API keys services and people
-- send as bearer tokens, and the browsers' login sessions. Tokens are
-- stored only as HMACs keyed with the server's secret (package auth), so
-- the database alone gives none of them away.

CREATE TABLE users (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             TEXT    NOT NULL,
    email                TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('ADMIN', 'MEMBER', 'VIEWER')),
    password_hash        TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT false,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
-- Login finds a user by either, whatever their case.
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- A key with no user is a system key, for services; a user's key acts
-- with its user's role. Revoked keys stay listed nowhere but keep their
-- row, so what they did can still be told.
CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   BYTEA  NOT NULL UNIQUE,
    name         TEXT   NOT NULL,
    description  TEXT   NOT NULL DEFAULT '',
    user_id      BIGINT REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- "sessions" are the traces' sessions; these are logins.
CREATE TABLE ui_sessions (
    token_hash   BYTEA  PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);

-- Incremented with every change that takes a credential's power away, in
-- the same transaction: servers poll this one row to know when their
-- cache of verified keys may be stale.
CREATE TABLE auth_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO auth_generation (id, generation) VALUES (1, 0);
