package sqlite

import (
	"context"
	"fmt"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// errorGroupBatch is how many failed spans one transaction of
// fillErrorGroups groups.
const errorGroupBatch = 1000

// fillErrorGroups gives the failed spans stored before error groups
// (migration 0029) theirs. It walks spans_project_errors, the index of
// failed spans, so once they have one it costs one look at that index.
func (s *Store) fillErrorGroups(ctx context.Context) error {
	for filled := 0; ; {
		n, err := s.fillErrorGroupBatch(ctx)
		if err != nil {
			return fmt.Errorf("group the failures stored before: %w", err)
		}
		filled += n
		if n < errorGroupBatch {
			if filled > 0 {
				s.log.Info("grouped the failures stored before", "spans", filled)
			}
			return nil
		}
	}
}

func (s *Store) fillErrorGroupBatch(ctx context.Context) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, status_message, coalesce(events, '') FROM spans INDEXED BY spans_project_errors
		WHERE status_code = 'ERROR' AND error_group IS NULL LIMIT ?`, errorGroupBatch)
	if err != nil {
		return 0, err
	}
	type grouped struct {
		id    int64
		group string
	}
	var batch []grouped
	for rows.Next() {
		var id int64
		var msg, events string
		if err := rows.Scan(&id, &msg, &events); err != nil {
			rows.Close()
			return 0, err
		}
		batch = append(batch, grouped{id, span.ErrorGroup(span.StoredFailure(msg, []byte(events)))})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, g := range batch {
		if _, err := tx.ExecContext(ctx, `UPDATE spans SET error_group = ? WHERE id = ?`, g.group, g.id); err != nil {
			return 0, err
		}
	}
	return len(batch), tx.Commit()
}

// errorGroupCellsSQL counts a project's failures in range by group, model
// and stretch of the range.
const errorGroupCellsSQL = `SELECT error_group, coalesce(model_name, ''), (start_time - ?) / ?,
	count(*), min(start_time), max(start_time), max(id)
	FROM spans INDEXED BY spans_project_errors
	WHERE project_id = ? AND status_code = 'ERROR' AND start_time >= ? AND start_time < ? AND error_group IS NOT NULL
	GROUP BY 1, 2, 3`

// errorGroupVersionsSQL counts a project's failures in range by group and
// prompt version, of every failure: the writer keeps a failed span's
// version in the index (store.PromptVersionColumn, migration 0032).
const errorGroupVersionsSQL = `SELECT error_group, prompt_version, count(*)
	FROM spans INDEXED BY spans_project_errors
	WHERE project_id = ? AND status_code = 'ERROR' AND start_time >= ? AND start_time < ? AND error_group IS NOT NULL
		AND prompt_version != ''
	GROUP BY 1, 2`

// ErrorGroups groups a project's failures in range. Both reads walk
// spans_project_errors, the index of failed spans, and read nothing else.
func (s *Store) ErrorGroups(ctx context.Context, q store.ErrorGroupQuery) ([]store.ErrorGroup, error) {
	rows, err := s.read.QueryContext(ctx, errorGroupCellsSQL, q.StartTime, q.BucketWidth(), q.ProjectID, q.StartTime, q.EndTime)
	if err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}
	var cells []store.ErrorGroupCell
	for rows.Next() {
		var c store.ErrorGroupCell
		if err := rows.Scan(&c.Key, &c.Model, &c.Bucket, &c.Count, &c.First, &c.Last, &c.MaxRowID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("group failures: %w", err)
		}
		cells = append(cells, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}
	if len(cells) == 0 {
		return nil, nil
	}
	rows, err = s.read.QueryContext(ctx, errorGroupVersionsSQL, q.ProjectID, q.StartTime, q.EndTime)
	if err != nil {
		return nil, fmt.Errorf("group failures by prompt version: %w", err)
	}
	defer rows.Close()
	var versions []store.ErrorGroupVersion
	for rows.Next() {
		var v store.ErrorGroupVersion
		if err := rows.Scan(&v.Key, &v.Version, &v.Count); err != nil {
			return nil, fmt.Errorf("group failures by prompt version: %w", err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group failures by prompt version: %w", err)
	}
	return store.GroupErrors(q, cells, versions), nil
}
