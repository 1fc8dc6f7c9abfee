package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loupe-dev/loupe/internal/store"
)

// AnnotationConfigs lists the annotation configs by name.
func (s *Store) AnnotationConfigs(ctx context.Context) ([]store.AnnotationConfig, error) {
	return s.annotationConfigs(ctx, `SELECT id, name, config::text FROM annotation_configs ORDER BY name`)
}

// ProjectAnnotationConfigs lists the configs assigned to a project by name.
func (s *Store) ProjectAnnotationConfigs(ctx context.Context, projectID int64) ([]store.AnnotationConfig, error) {
	return s.annotationConfigs(ctx, `SELECT c.id, c.name, c.config::text FROM annotation_configs c
		JOIN project_annotation_configs p ON p.annotation_config_id = c.id WHERE p.project_id = $1 ORDER BY c.name`, projectID)
}

func (s *Store) annotationConfigs(ctx context.Context, query string, args ...any) ([]store.AnnotationConfig, error) {
	rows, err := s.pool.Query(ctx, query, args...)
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

// CreateAnnotationConfig adds a config under a name not yet defined.
func (s *Store) CreateAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	config, err := store.EncodeAnnotationConfig(c)
	if err != nil {
		return c, err
	}
	now := nowNanos()
	err = s.pool.QueryRow(ctx, `INSERT INTO annotation_configs (name, config, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
		ON CONFLICT (name) DO NOTHING RETURNING id`, text(c.Name), config, now).Scan(&c.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
	} else if err != nil {
		return c, fmt.Errorf("create annotation config %s: %w", c.Name, err)
	}
	return c, nil
}

// UpdateAnnotationConfig replaces the config of id c.ID, renaming it when
// c.Name differs.
func (s *Store) UpdateAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	config, err := store.EncodeAnnotationConfig(c)
	if err != nil {
		return c, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE annotation_configs SET name = $1, config = $2::jsonb, updated_at = $3 WHERE id = $4`,
		text(c.Name), config, nowNanos(), c.ID)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return c, fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
	} else if err != nil {
		return c, fmt.Errorf("update annotation config %s: %w", c.Name, err)
	}
	if tag.RowsAffected() == 0 {
		return c, fmt.Errorf("annotation config %d: %w", c.ID, store.ErrNotFound)
	}
	return c, nil
}

// AssignAnnotationConfig assigns a config to a project, or unassigns it.
func (s *Store) AssignAnnotationConfig(ctx context.Context, projectID, configID int64, assigned bool) error {
	return s.inTx(ctx, "assign annotation config", func(tx pgx.Tx) error {
		if err := configsExist(ctx, tx, []int64{configID}); err != nil {
			return err
		}
		if !assigned {
			_, err := tx.Exec(ctx, `DELETE FROM project_annotation_configs WHERE project_id = $1 AND annotation_config_id = $2`, projectID, configID)
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO project_annotation_configs (project_id, annotation_config_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, projectID, configID)
		return err
	})
}

// ReplaceProjectAnnotationConfigs makes configIDs the project's configs.
func (s *Store) ReplaceProjectAnnotationConfigs(ctx context.Context, projectID int64, configIDs []int64) error {
	if configIDs == nil {
		configIDs = []int64{} // NULL would make ANY($2) NULL, and keep every assignment
	}
	return s.inTx(ctx, "set a project's annotation configs", func(tx pgx.Tx) error {
		if err := configsExist(ctx, tx, configIDs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM project_annotation_configs WHERE project_id = $1 AND NOT annotation_config_id = ANY($2)`,
			projectID, configIDs); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO project_annotation_configs (project_id, annotation_config_id)
			SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, projectID, configIDs)
		return err
	})
}

// configsExist is ErrNotFound unless every id names a config.
func configsExist(ctx context.Context, tx pgx.Tx, ids []int64) error {
	var missing *int64
	err := tx.QueryRow(ctx, `SELECT min(i) FROM unnest($1::bigint[]) AS i WHERE NOT EXISTS (SELECT 1 FROM annotation_configs WHERE id = i)`, ids).Scan(&missing)
	if err != nil {
		return err
	}
	if missing != nil {
		return fmt.Errorf("annotation config %d: %w", *missing, store.ErrNotFound)
	}
	return nil
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
