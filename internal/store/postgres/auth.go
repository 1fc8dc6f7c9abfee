package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loupe-dev/loupe/internal/store"
)

const userColumns = `u.id, u.username, u.email, u.role, coalesce(u.password_hash, ''), u.must_change_password, u.created_at, u.updated_at`

func scanUser(row pgx.Row, u *store.User, extra ...any) error {
	return row.Scan(append([]any{&u.ID, &u.Username, &u.Email, &u.Role, &u.PasswordHash, &u.MustChangePassword,
		&u.CreatedAt, &u.UpdatedAt}, extra...)...)
}

// bumpAuthGeneration tells every server sharing the database that a
// credential may have lost its power.
func bumpAuthGeneration(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE auth_generation SET generation = generation + 1 WHERE id = 1`)
	return err
}

// CreateUser stores a new user; a taken username or email is an ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	now := nowNanos()
	u.CreatedAt, u.UpdatedAt = now, now
	err := s.pool.QueryRow(ctx, `INSERT INTO users (username, email, role, password_hash, must_change_password, created_at, updated_at)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6, $6) RETURNING id`,
		text(u.Username), text(u.Email), u.Role, u.PasswordHash, u.MustChangePassword, now).Scan(&u.ID)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" {
		taken := "email"
		if pgErr.ConstraintName == "users_username" {
			taken = "username"
		}
		return u, fmt.Errorf("%s already exists: %w", taken, store.ErrConflict)
	}
	if err != nil {
		return u, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return s.oneUser(ctx, `WHERE u.id = $1`, id)
}

// UserByLogin finds a user by username or email.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	return s.oneUser(ctx, `WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1)
		ORDER BY lower(u.username) = lower($1) DESC LIMIT 1`, text(login))
}

func (s *Store) oneUser(ctx context.Context, where string, args ...any) (store.User, error) {
	var u store.User
	err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u `+where, args...), &u)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user: %w", store.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// Users lists users, highest id first.
func (s *Store) Users(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	query, args := `SELECT `+userColumns+` FROM users u`, []any{}
	if q.Cursor > 0 {
		args = append(args, q.Cursor)
		query += ` WHERE u.id <= $1`
	}
	query += ` ORDER BY u.id DESC`
	if q.Limit > 0 {
		args = append(args, q.Limit)
		query += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.User, error) {
		var u store.User
		return u, scanUser(row, &u)
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// CountUsers counts the users.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UpdateUser changes a user's role and password.
func (s *Store) UpdateUser(ctx context.Context, u store.User, keepSession []byte) error {
	return s.inTx(ctx, "update user", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET role = $1, password_hash = nullif($2, ''), must_change_password = $3, updated_at = $4
			WHERE id = $5`, u.Role, u.PasswordHash, u.MustChangePassword, nowNanos(), u.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %d: %w", u.ID, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ui_sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2`, u.ID, keepSession); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return bumpAuthGeneration(ctx, tx)
	})
}

// DeleteUser deletes a user, its keys and its sessions.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.inTx(ctx, "delete user", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %d: %w", id, store.ErrNotFound)
		}
		return bumpAuthGeneration(ctx, tx)
	})
}

const keyColumns = `k.id, k.token_hash, k.name, k.description, coalesce(k.user_id, 0), coalesce(u.username, ''), coalesce(u.email, ''),
	coalesce(u.role, ''), k.created_at, coalesce(k.expires_at, 0), coalesce(k.last_used_at, 0), coalesce(k.revoked_at, 0)`

const keysFrom = ` FROM api_keys k LEFT JOIN users u ON u.id = k.user_id`

func scanKey(row pgx.Row, k *store.APIKey) error {
	return row.Scan(&k.ID, &k.Hash, &k.Name, &k.Description, &k.UserID, &k.Username, &k.UserEmail, &k.UserRole,
		&k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
}

// CreateAPIKey stores a key's hash and description.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k.CreatedAt = nowNanos()
	err := s.pool.QueryRow(ctx, `INSERT INTO api_keys (token_hash, name, description, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, nullif($4::bigint, 0), $5, nullif($6::bigint, 0)) RETURNING id`,
		k.Hash, text(k.Name), text(k.Description), k.UserID, k.CreatedAt, k.ExpiresAt).Scan(&k.ID)
	if err != nil {
		return k, fmt.Errorf("create API key: %w", err)
	}
	return k, nil
}

// APIKeyByHash finds a working key by its hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	return s.oneKey(ctx, `WHERE k.token_hash = $1 AND k.revoked_at IS NULL`, hash)
}

// APIKeyByID finds a key by id.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKey, error) {
	return s.oneKey(ctx, `WHERE k.id = $1`, id)
}

func (s *Store) oneKey(ctx context.Context, where string, args ...any) (store.APIKey, error) {
	var k store.APIKey
	err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+keysFrom+` `+where, args...), &k)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("API key: %w", store.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("read API key: %w", err)
	}
	return k, nil
}

// APIKeys lists working keys, highest id first.
func (s *Store) APIKeys(ctx context.Context, q store.APIKeyQuery) ([]store.APIKey, error) {
	where, args := []string{"k.revoked_at IS NULL"}, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	switch {
	case q.System:
		where = append(where, "k.user_id IS NULL")
	case q.UserID != 0:
		where = append(where, "k.user_id = "+arg(q.UserID))
	default:
		where = append(where, "k.user_id IS NOT NULL")
	}
	if q.Cursor > 0 {
		where = append(where, "k.id <= "+arg(q.Cursor))
	}
	query := `SELECT ` + keyColumns + keysFrom + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY k.id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ` + arg(q.Limit)
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.APIKey, error) {
		var k store.APIKey
		return k, scanKey(row, &k)
	})
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes a working key.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	return s.inTx(ctx, "revoke API key", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, nowNanos(), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("API key %d: %w", id, store.ErrNotFound)
		}
		return bumpAuthGeneration(ctx, tx)
	})
}

// TouchAPIKeys records when keys were last used.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[int64]int64) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids, times := make([]int64, 0, len(lastUsed)), make([]int64, 0, len(lastUsed))
	for id, at := range lastUsed {
		ids, times = append(ids, id), append(times, at)
	}
	_, err := s.pool.Exec(ctx, `UPDATE api_keys k SET last_used_at = t.at
		FROM unnest($1::bigint[], $2::bigint[]) AS t(id, at)
		WHERE k.id = t.id AND coalesce(k.last_used_at, 0) < t.at`, ids, times)
	if err != nil {
		return fmt.Errorf("record when API keys were used: %w", err)
	}
	return nil
}

// CreateLoginSession stores a UI session.
func (s *Store) CreateLoginSession(ctx context.Context, us store.LoginSession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO ui_sessions (token_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)`,
		us.Hash, us.UserID, us.CreatedAt, us.LastSeenAt)
	if err != nil {
		return fmt.Errorf("create login session: %w", err)
	}
	return nil
}

// LoginSessionByHash finds a session and its user.
func (s *Store) LoginSessionByHash(ctx context.Context, hash []byte) (store.LoginSession, error) {
	var us store.LoginSession
	err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, s.token_hash, s.created_at, s.last_seen_at
		FROM ui_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, hash),
		&us.User, &us.Hash, &us.CreatedAt, &us.LastSeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return us, fmt.Errorf("login session: %w", store.ErrNotFound)
	}
	if err != nil {
		return us, fmt.Errorf("read login session: %w", err)
	}
	us.UserID = us.User.ID
	return us, nil
}

// TouchLoginSession records when a session was last used.
func (s *Store) TouchLoginSession(ctx context.Context, hash []byte, lastSeen int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE ui_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1`, lastSeen, hash)
	if err != nil {
		return fmt.Errorf("record when a login session was used: %w", err)
	}
	return nil
}

// DeleteLoginSession deletes a session.
func (s *Store) DeleteLoginSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("delete login session: %w", err)
	}
	return nil
}

// DeleteExpiredLoginSessions deletes sessions past their idle or absolute expiry.
func (s *Store) DeleteExpiredLoginSessions(ctx context.Context, idleBefore, createdBefore int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE last_seen_at < $1 OR created_at < $2`, idleBefore, createdBefore)
	if err != nil {
		return 0, fmt.Errorf("delete expired login sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AuthGeneration reads the auth generation.
func (s *Store) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := s.pool.QueryRow(ctx, `SELECT generation FROM auth_generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read the auth generation: %w", err)
	}
	return g, nil
}
