package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Setting reads a setting.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, true, nil
}

// PutSetting writes a setting.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	return s.inWriteTx(ctx, "write setting "+key, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, time.Now().UnixNano())
		return err
	})
}

// CheckWritable writes the time of the check into a setting of its own,
// as a checked write: under the write lock, synced before it returns.
func (s *Store) CheckWritable(ctx context.Context) error {
	return s.inWriteTx(ctx, "check that the database takes writes", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('write_check', '', ?)
			ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at`, time.Now().UnixNano())
		return err
	})
}
