package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// AnnotationConfigs lists the annotation configs by name.
func (s *Store) AnnotationConfigs(ctx context.Context) ([]store.AnnotationConfig, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, config FROM annotation_configs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list annotation configs: %w", err)
	}
	defer rows.Close()
	var out []store.AnnotationConfig
	for rows.Next() {
		var id int64
		var name, config string
		if err := rows.Scan(&id, &name, &config); err != nil {
			return nil, fmt.Errorf("list annotation configs: %w", err)
		}
		c, err := store.DecodeAnnotationConfig(id, name, config)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveAnnotationConfig creates or replaces the config of c.Name.
func (s *Store) SaveAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	config, err := store.EncodeAnnotationConfig(c)
	if err != nil {
		return c, err
	}
	err = s.inWriteTx(ctx, "save annotation config "+c.Name, func(tx *sql.Tx) error {
		now := time.Now().UnixNano()
		return tx.QueryRowContext(ctx, `INSERT INTO annotation_configs (name, config, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at RETURNING id`,
			c.Name, config, now, now).Scan(&c.ID)
	})
	return c, err
}

// DeleteAnnotationConfig deletes the config of a name.
func (s *Store) DeleteAnnotationConfig(ctx context.Context, name string) error {
	return s.inWriteTx(ctx, "delete annotation config "+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM annotation_configs WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("annotation config %s: %w", name, store.ErrNotFound)
		}
		return nil
	})
}
