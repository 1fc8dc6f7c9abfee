package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/store"
)

// AnnotationConfigs lists the annotation configs by name.
func (s *Store) AnnotationConfigs(ctx context.Context) ([]store.AnnotationConfig, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, config::text FROM annotation_configs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list annotation configs: %w", err)
	}
	var out []store.AnnotationConfig
	var id int64
	var name, config string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &config}, func() error {
		c, err := store.DecodeAnnotationConfig(id, name, config)
		out = append(out, c)
		return err
	}); err != nil {
		return nil, fmt.Errorf("list annotation configs: %w", err)
	}
	return out, nil
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
	now := nowNanos()
	err = s.pool.QueryRow(ctx, `INSERT INTO annotation_configs (name, config, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
		ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at RETURNING id`,
		text(c.Name), config, now).Scan(&c.ID)
	if err != nil {
		return c, fmt.Errorf("save annotation config %s: %w", c.Name, err)
	}
	return c, nil
}

// DeleteAnnotationConfig deletes the config of a name.
func (s *Store) DeleteAnnotationConfig(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM annotation_configs WHERE name = $1`, text(name))
	if err != nil {
		return fmt.Errorf("delete annotation config %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("annotation config %s: %w", name, store.ErrNotFound)
	}
	return nil
}
