package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// AnnotationConfigs lists the annotation configs by name.
func (s *Store) AnnotationConfigs(ctx context.Context) ([]store.AnnotationConfig, error) {
	return s.annotationConfigs(ctx, `SELECT id, name, config FROM annotation_configs ORDER BY name`)
}

// ProjectAnnotationConfigs lists the configs assigned to a project by name.
func (s *Store) ProjectAnnotationConfigs(ctx context.Context, projectID int64) ([]store.AnnotationConfig, error) {
	return s.annotationConfigs(ctx, `SELECT c.id, c.name, c.config FROM annotation_configs c
		JOIN project_annotation_configs p ON p.annotation_config_id = c.id WHERE p.project_id = ? ORDER BY c.name`, projectID)
}

func (s *Store) annotationConfigs(ctx context.Context, query string, args ...any) ([]store.AnnotationConfig, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
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

// CreateAnnotationConfig adds a config under a name not yet defined.
func (s *Store) CreateAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	config, err := store.EncodeAnnotationConfig(c)
	if err != nil {
		return c, err
	}
	err = s.inWriteTx(ctx, "create annotation config "+c.Name, func(tx *sql.Tx) error {
		now := time.Now().UnixNano()
		err := tx.QueryRowContext(ctx, `INSERT INTO annotation_configs (name, config, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING RETURNING id`, c.Name, config, now, now).Scan(&c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
		}
		return err
	})
	return c, err
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
	err = s.inWriteTx(ctx, "update annotation config "+c.Name, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM annotation_configs WHERE name = ? AND id != ?`, c.Name, c.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE annotation_configs SET name = ?, config = ?, updated_at = ? WHERE id = ?`,
			c.Name, config, time.Now().UnixNano(), c.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("annotation config %d: %w", c.ID, store.ErrNotFound)
		}
		return nil
	})
	return c, err
}

// AssignAnnotationConfig assigns a config to a project, or unassigns it.
func (s *Store) AssignAnnotationConfig(ctx context.Context, projectID, configID int64, assigned bool) error {
	return s.inWriteTx(ctx, "assign annotation config", func(tx *sql.Tx) error {
		if err := configsExist(ctx, tx, []int64{configID}); err != nil {
			return err
		}
		if !assigned {
			_, err := tx.ExecContext(ctx, `DELETE FROM project_annotation_configs WHERE project_id = ? AND annotation_config_id = ?`, projectID, configID)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO project_annotation_configs (project_id, annotation_config_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, projectID, configID)
		return err
	})
}

// ReplaceProjectAnnotationConfigs makes configIDs the project's configs.
func (s *Store) ReplaceProjectAnnotationConfigs(ctx context.Context, projectID int64, configIDs []int64) error {
	return s.inWriteTx(ctx, "set a project's annotation configs", func(tx *sql.Tx) error {
		if err := configsExist(ctx, tx, configIDs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM project_annotation_configs WHERE project_id = ?`, projectID); err != nil {
			return err
		}
		for _, id := range configIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO project_annotation_configs (project_id, annotation_config_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, projectID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// configsExist is ErrNotFound unless every id names a config.
func configsExist(ctx context.Context, tx *sql.Tx, ids []int64) error {
	for _, id := range ids {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM annotation_configs WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("annotation config %d: %w", id, store.ErrNotFound)
		} else if err != nil {
			return err
		}
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
