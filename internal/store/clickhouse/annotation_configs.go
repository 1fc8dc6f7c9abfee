package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// Annotation configs are a handful of small, mutable rows: they live in the
// settings table (ReplacingMergeTree, the latest write wins) under a key of
// their own, and a deletion writes an empty value over the config. A
// config's id is that of the name it was created under, kept in its value,
// so that it stays the same when the config is renamed.
const annotationConfigKey = "annotation_config:"

// A project's assigned configs are a JSON list of config ids under a key of
// the project's.
const projectConfigsKey = "project_annotation_configs:"

// storedConfig is a config as its setting holds it.
type storedConfig struct {
	store.AnnotationConfig
	ConfigID int64 `json:"config_id,omitempty"`
}

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
		var sc storedConfig
		if err := json.Unmarshal([]byte(value), &sc); err != nil {
			return nil, fmt.Errorf("annotation config %s: %w", name, err)
		}
		c := sc.AnnotationConfig
		c.ID, c.Name = sc.ConfigID, name
		if c.ID == 0 {
			c.ID = rowID(key)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, fmt.Errorf("list annotation configs: %w", err))
	}
	slices.SortFunc(out, func(a, b store.AnnotationConfig) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Store) putConfig(ctx context.Context, c store.AnnotationConfig) error {
	value, err := json.Marshal(storedConfig{AnnotationConfig: c, ConfigID: c.ID})
	if err != nil {
		return err
	}
	return s.PutSetting(ctx, annotationConfigKey+text(c.Name), string(value))
}

// configNamed finds a config by name, or by id when name is empty.
func (s *Store) configNamed(ctx context.Context, name string, id int64) (store.AnnotationConfig, bool, error) {
	all, err := s.AnnotationConfigs(ctx)
	if err != nil {
		return store.AnnotationConfig{}, false, err
	}
	for _, c := range all {
		if name != "" && c.Name == text(name) || name == "" && c.ID == id {
			return c, true, nil
		}
	}
	return store.AnnotationConfig{}, false, nil
}

// SaveAnnotationConfig creates or replaces the config of c.Name; a new
// config's id is its name's, so every server gives the same one.
func (s *Store) SaveAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	old, ok, err := s.configNamed(ctx, c.Name, 0)
	if err != nil {
		return c, fmt.Errorf("save annotation config %s: %w", c.Name, err)
	}
	c.ID = rowID(annotationConfigKey + text(c.Name))
	if ok {
		c.ID = old.ID
	}
	if err := s.putConfig(ctx, c); err != nil {
		return c, fmt.Errorf("save annotation config %s: %w", c.Name, err)
	}
	return c, nil
}

// CreateAnnotationConfig adds a config under a name not yet defined. Two
// servers creating the same name at once both succeed, the later write
// winning: the settings table has no unique constraint.
func (s *Store) CreateAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if _, ok, err := s.configNamed(ctx, c.Name, 0); err != nil {
		return c, fmt.Errorf("create annotation config %s: %w", c.Name, err)
	} else if ok {
		return c, fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
	}
	return s.SaveAnnotationConfig(ctx, c)
}

// UpdateAnnotationConfig replaces the config of id c.ID; a new name moves
// it to its new key, under the same id.
func (s *Store) UpdateAnnotationConfig(ctx context.Context, c store.AnnotationConfig) (store.AnnotationConfig, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	old, ok, err := s.configNamed(ctx, "", c.ID)
	if err != nil {
		return c, fmt.Errorf("update annotation config %s: %w", c.Name, err)
	} else if !ok {
		return c, fmt.Errorf("annotation config %d: %w", c.ID, store.ErrNotFound)
	}
	if old.Name != c.Name {
		if _, taken, err := s.configNamed(ctx, c.Name, 0); err != nil {
			return c, fmt.Errorf("update annotation config %s: %w", c.Name, err)
		} else if taken {
			return c, fmt.Errorf("the annotation config %s: %w", c.Name, store.ErrConflict)
		}
	}
	if err := s.putConfig(ctx, c); err != nil {
		return c, fmt.Errorf("update annotation config %s: %w", c.Name, err)
	}
	if old.Name != c.Name {
		if err := s.PutSetting(ctx, annotationConfigKey+text(old.Name), ""); err != nil {
			return c, fmt.Errorf("update annotation config %s: %w", c.Name, err)
		}
	}
	return c, nil
}

// DeleteAnnotationConfig deletes the config of a name, and takes it off
// the projects it was assigned to: a config made again under the name
// would have the same id.
func (s *Store) DeleteAnnotationConfig(ctx context.Context, name string) error {
	c, ok, err := s.configNamed(ctx, name, 0)
	if err != nil {
		return fmt.Errorf("delete annotation config %s: %w", name, err)
	} else if !ok {
		return fmt.Errorf("annotation config %s: %w", name, store.ErrNotFound)
	}
	if err := s.PutSetting(ctx, annotationConfigKey+text(name), ""); err != nil {
		return fmt.Errorf("delete annotation config %s: %w", name, err)
	}
	rows, err := s.conn.Query(ctx, "SELECT key, value FROM settings FINAL WHERE startsWith(key, {p:String}) AND value != ''",
		ch.Named("p", projectConfigsKey))
	if err != nil {
		return classify(ctx, fmt.Errorf("delete annotation config %s: %w", name, err))
	}
	assigned := map[int64][]int64{}
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			rows.Close()
			return fmt.Errorf("delete annotation config %s: %w", name, err)
		}
		project, err := strconv.ParseInt(strings.TrimPrefix(key, projectConfigsKey), 10, 64)
		var ids []int64
		if err == nil && json.Unmarshal([]byte(value), &ids) == nil && slices.Contains(ids, c.ID) {
			assigned[project] = slices.DeleteFunc(ids, func(id int64) bool { return id == c.ID })
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(ctx, fmt.Errorf("delete annotation config %s: %w", name, err))
	}
	for project, ids := range assigned {
		if err := s.putProjectConfigs(ctx, project, ids); err != nil {
			return fmt.Errorf("delete annotation config %s: %w", name, err)
		}
	}
	return nil
}

// projectConfigIDs reads the ids of a project's configs.
func (s *Store) projectConfigIDs(ctx context.Context, projectID int64) ([]int64, error) {
	v, ok, err := s.Setting(ctx, projectConfigsKey+strconv.FormatInt(projectID, 10))
	if err != nil || !ok || v == "" {
		return nil, err
	}
	var ids []int64
	if err := json.Unmarshal([]byte(v), &ids); err != nil {
		return nil, fmt.Errorf("the annotation configs of project %d: %w", projectID, err)
	}
	return ids, nil
}

func (s *Store) putProjectConfigs(ctx context.Context, projectID int64, ids []int64) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	value := ""
	if len(ids) > 0 {
		b, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		value = string(b)
	}
	return s.PutSetting(ctx, projectConfigsKey+strconv.FormatInt(projectID, 10), value)
}

// ProjectAnnotationConfigs lists the configs assigned to a project by name.
func (s *Store) ProjectAnnotationConfigs(ctx context.Context, projectID int64) ([]store.AnnotationConfig, error) {
	ids, err := s.projectConfigIDs(ctx, projectID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	all, err := s.AnnotationConfigs(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c store.AnnotationConfig) bool { return !slices.Contains(ids, c.ID) }), nil
}

// configsExist is ErrNotFound unless every id names a config.
func (s *Store) configsExist(ctx context.Context, ids []int64) error {
	all, err := s.AnnotationConfigs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(c store.AnnotationConfig) bool { return c.ID == id }) {
			return fmt.Errorf("annotation config %d: %w", id, store.ErrNotFound)
		}
	}
	return nil
}

// AssignAnnotationConfig assigns a config to a project, or unassigns it.
// It reads and writes the project's list: two servers changing the same
// project's list at once may lose one change, as with any setting here.
func (s *Store) AssignAnnotationConfig(ctx context.Context, projectID, configID int64, assigned bool) error {
	if err := s.configsExist(ctx, []int64{configID}); err != nil {
		return err
	}
	ids, err := s.projectConfigIDs(ctx, projectID)
	if err != nil {
		return err
	}
	if slices.Contains(ids, configID) == assigned {
		return nil
	}
	if assigned {
		ids = append(ids, configID)
	} else {
		ids = slices.DeleteFunc(ids, func(id int64) bool { return id == configID })
	}
	return s.putProjectConfigs(ctx, projectID, ids)
}

// ReplaceProjectAnnotationConfigs makes configIDs the project's configs.
func (s *Store) ReplaceProjectAnnotationConfigs(ctx context.Context, projectID int64, configIDs []int64) error {
	if err := s.configsExist(ctx, configIDs); err != nil {
		return err
	}
	return s.putProjectConfigs(ctx, projectID, slices.Clone(configIDs))
}
