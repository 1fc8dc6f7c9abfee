package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

const userColumns = `u.id, u.username, u.email, u.role, coalesce(u.password_hash, ''), u.must_change_password, u.created_at, u.updated_at`

func scanUser(row interface{ Scan(...any) error }, u *store.User, extra ...any) error {
	return row.Scan(append([]any{&u.ID, &u.Username, &u.Email, &u.Role, &u.PasswordHash, &u.MustChangePassword,
		&u.CreatedAt, &u.UpdatedAt}, extra...)...)
}

// bumpAuthGeneration tells every server sharing the database that a
// credential may have lost its power.
func bumpAuthGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE auth_generation SET generation = generation + 1 WHERE id = 1`)
	return err
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	now := time.Now().UnixNano()
	u.CreatedAt, u.UpdatedAt = now, now
	err := s.inWriteTx(ctx, "create user", func(tx *sql.Tx) error {
		var taken string
		err := tx.QueryRowContext(ctx, `SELECT CASE WHEN lower(username) = lower(?) THEN 'username' ELSE 'email' END
			FROM users WHERE lower(username) = lower(?) OR lower(email) = lower(?) LIMIT 1`,
			u.Username, u.Username, u.Email).Scan(&taken)
		if err == nil {
			return fmt.Errorf("%s already exists: %w", taken, store.ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("create user: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (username, email, role, password_hash, must_change_password, created_at, updated_at)
			VALUES (?, ?, ?, nullif(?, ''), ?, ?, ?)`, u.Username, u.Email, u.Role, u.PasswordHash, u.MustChangePassword, now, now)
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		u.ID, err = res.LastInsertId()
		return err
	})
	return u, err
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return s.oneUser(ctx, `WHERE u.id = ?`, id)
}

// UserByLogin finds a user by username or email.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	return s.oneUser(ctx, `WHERE lower(u.username) = lower(?1) OR lower(u.email) = lower(?1) ORDER BY lower(u.username) = lower(?1) DESC LIMIT 1`, login)
}

func (s *Store) oneUser(ctx context.Context, where string, args ...any) (store.User, error) {
	var u store.User
	err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u `+where, args...), &u)
	if errors.Is(err, sql.ErrNoRows) {
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
		query += ` WHERE u.id <= ?`
		args = append(args, q.Cursor)
	}
	query += ` ORDER BY u.id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		var u store.User
		if err := scanUser(rows, &u); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// CountUsers counts the users.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UpdateUser changes a user's role and password.
func (s *Store) UpdateUser(ctx context.Context, u store.User, keepSession []byte) error {
	return s.inWriteTx(ctx, "update user", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, password_hash = nullif(?, ''), must_change_password = ?, updated_at = ?
			WHERE id = ?`, u.Role, u.PasswordHash, u.MustChangePassword, time.Now().UnixNano(), u.ID)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %d: %w", u.ID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE user_id = ? AND token_hash IS NOT ?`, u.ID, keepSession); err != nil {
			return fmt.Errorf("update user: end sessions: %w", err)
		}
		return bumpAuthGeneration(ctx, tx)
	})
}

// DeleteUser deletes a user, its keys and its sessions.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.inWriteTx(ctx, "delete user", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %d: %w", id, store.ErrNotFound)
		}
		return bumpAuthGeneration(ctx, tx)
	})
}

const keyColumns = `k.id, k.token_hash, k.name, k.description, coalesce(k.user_id, 0), coalesce(u.username, ''), coalesce(u.email, ''),
	coalesce(u.role, ''), k.created_at, coalesce(k.expires_at, 0), coalesce(k.last_used_at, 0), coalesce(k.revoked_at, 0)`

const keysFrom = ` FROM api_keys k LEFT JOIN users u ON u.id = k.user_id`

func scanKey(row interface{ Scan(...any) error }, k *store.APIKey) error {
	return row.Scan(&k.ID, &k.Hash, &k.Name, &k.Description, &k.UserID, &k.Username, &k.UserEmail, &k.UserRole,
		&k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
}

// CreateAPIKey stores a key's hash and description.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k.CreatedAt = time.Now().UnixNano()
	err := s.inWriteTx(ctx, "create API key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (token_hash, name, description, user_id, created_at, expires_at)
			VALUES (?, ?, ?, nullif(?, 0), ?, nullif(?, 0))`, k.Hash, k.Name, k.Description, k.UserID, k.CreatedAt, k.ExpiresAt)
		if err != nil {
			return fmt.Errorf("create API key: %w", err)
		}
		k.ID, err = res.LastInsertId()
		return err
	})
	return k, err
}

// APIKeyByHash finds a working key by its hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	return s.oneKey(ctx, `WHERE k.token_hash = ? AND k.revoked_at IS NULL`, hash)
}

// APIKeyByID finds a key by id.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKey, error) {
	return s.oneKey(ctx, `WHERE k.id = ?`, id)
}

func (s *Store) oneKey(ctx context.Context, where string, args ...any) (store.APIKey, error) {
	var k store.APIKey
	err := scanKey(s.read.QueryRowContext(ctx, `SELECT `+keyColumns+keysFrom+` `+where, args...), &k)
	if errors.Is(err, sql.ErrNoRows) {
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
	switch {
	case q.System:
		where = append(where, "k.user_id IS NULL")
	case q.UserID != 0:
		where = append(where, "k.user_id = ?")
		args = append(args, q.UserID)
	default:
		where = append(where, "k.user_id IS NOT NULL")
	}
	if q.Cursor > 0 {
		where = append(where, "k.id <= ?")
		args = append(args, q.Cursor)
	}
	query := `SELECT ` + keyColumns + keysFrom + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY k.id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		var k store.APIKey
		if err := scanKey(rows, &k); err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes a working key.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	return s.inWriteTx(ctx, "revoke API key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, time.Now().UnixNano(), id)
		if err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
	return s.inWriteTx(ctx, "record when API keys were used", func(tx *sql.Tx) error {
		for id, at := range lastUsed {
			if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND coalesce(last_used_at, 0) < ?1`, at, id); err != nil {
				return fmt.Errorf("record when API key %d was used: %w", id, err)
			}
		}
		return nil
	})
}

// CreateLoginSession stores a UI session.
func (s *Store) CreateLoginSession(ctx context.Context, us store.LoginSession) error {
	return s.inWriteTx(ctx, "create login session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ui_sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)`,
			us.Hash, us.UserID, us.CreatedAt, us.LastSeenAt)
		if err != nil {
			return fmt.Errorf("create login session: %w", err)
		}
		return nil
	})
}

// LoginSessionByHash finds a session and its user.
func (s *Store) LoginSessionByHash(ctx context.Context, hash []byte) (store.LoginSession, error) {
	var us store.LoginSession
	err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+`, s.token_hash, s.created_at, s.last_seen_at
		FROM ui_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, hash),
		&us.User, &us.Hash, &us.CreatedAt, &us.LastSeenAt)
	if errors.Is(err, sql.ErrNoRows) {
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
	return s.inWriteTx(ctx, "record when a login session was used", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ui_sessions SET last_seen_at = ?1 WHERE token_hash = ?2 AND last_seen_at < ?1`, lastSeen, hash)
		return err
	})
}

// DeleteLoginSession deletes a session.
func (s *Store) DeleteLoginSession(ctx context.Context, hash []byte) error {
	return s.inWriteTx(ctx, "delete login session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE token_hash = ?`, hash)
		return err
	})
}

// DeleteExpiredLoginSessions deletes sessions past their idle or absolute expiry.
func (s *Store) DeleteExpiredLoginSessions(ctx context.Context, idleBefore, createdBefore int64) (int64, error) {
	var n int64
	err := s.inWriteTx(ctx, "delete expired login sessions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE last_seen_at < ? OR created_at < ?`, idleBefore, createdBefore)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// AuthGeneration reads the auth generation.
func (s *Store) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := s.read.QueryRowContext(ctx, `SELECT generation FROM auth_generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read the auth generation: %w", err)
	}
	return g, nil
}
