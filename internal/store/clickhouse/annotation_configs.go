package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// Annotation configs are a handful of small, mutable rows: they live in the
// settings table (ReplacingMergeTree, the latest write wins) under a key of
// their own, and a deletion writes an empty value over the config.
const annotationConfigKey = "annotation_config:"

// AnnotationConfigs lists the annotation configs by name.
func (s *Store) AnnotationConfigs(ctx context.Context) ([]store.AnnotationConfig, error) {
	rows, err := s.conn.Query(ctx, "SELECT key, value FROM settings FINAL WHERE startsWith(key, {p:String}) AND value != ''",
		ch.Named("p", annotationConfigKey))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("list annotation configs: %w", err))
	}
	defer rows.Close()
	var out []store.AnnotationConfig
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return nil, fmt.Errorf("list annotation configs: %w", err)
		}
		name := strings.TrimPrefix(key, annotationConfigKey)
		c, err := store.DecodeAnnotationConfig(rowID(key), name, value)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, fmt.Errorf("list annotation configs: %w", err))
	}
	slices.SortFunc(out, func(a, b store.AnnotationConfig) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SaveAnnotationConfig creates or replaces the config of c.Name; its id is
// its name's, so every server gives the same one.
func (s *Store) SaveAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	config, err := store.EncodeAnnotationConfig(c)
	if err != nil {
		return c, err
	}
	key := annotationConfigKey + text(c.Name)
	if err := s.PutSetting(ctx, key, config); err != nil {
		return c, fmt.Errorf("save annotation config %s: %w", c.Name, err)
	}
	c.ID = rowID(key)
	return c, nil
}

// DeleteAnnotationConfig deletes the config of a name.
func (s *Store) DeleteAnnotationConfig(ctx context.Context, name string) error {
	key := annotationConfigKey + text(name)
	if v, ok, err := s.Setting(ctx, key); err != nil {
		return fmt.Errorf("delete annotation config %s: %w", name, err)
	} else if !ok || v == "" {
		return fmt.Errorf("annotation config %s: %w", name, store.ErrNotFound)
	}
	if err := s.PutSetting(ctx, key, ""); err != nil {
		return fmt.Errorf("delete annotation config %s: %w", name, err)
	}
	return nil
}
