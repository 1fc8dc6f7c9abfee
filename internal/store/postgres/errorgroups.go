package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// errorGroupBatch is how many failed spans one statement of
// fillErrorGroups groups.
const errorGroupBatch = 1000

// fillErrorGroups gives the failed spans stored before error groups
// (migration 0017) theirs. Servers sharing the database may run it at
// once: each update sets what any of them would.
func (s *Store) fillErrorGroups(ctx context.Context) error {
	for filled := 0; ; {
		rows, err := s.pool.Query(ctx, `SELECT id, status_message, coalesce(events::text, '') FROM spans
			WHERE status_code = 'ERROR' AND error_group IS NULL LIMIT $1`, errorGroupBatch)
		if err != nil {
			return fmt.Errorf("group the failures stored before: %w", err)
		}
		var ids []int64
		var groups []string
		for rows.Next() {
			var id int64
			var msg, events string
			if err := rows.Scan(&id, &msg, &events); err != nil {
				rows.Close()
				return fmt.Errorf("group the failures stored before: %w", err)
			}
			ids = append(ids, id)
			groups = append(groups, span.ErrorGroup(span.StoredFailure(msg, []byte(events))))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("group the failures stored before: %w", err)
		}
		if len(ids) > 0 {
			if _, err := s.pool.Exec(ctx, `UPDATE spans SET error_group = u.g FROM unnest($1::bigint[], $2::text[]) AS u(id, g)
				WHERE spans.id = u.id`, ids, groups); err != nil {
				return fmt.Errorf("group the failures stored before: %w", err)
			}
		}
		filled += len(ids)
		if len(ids) < errorGroupBatch {
			if filled > 0 {
				s.log.Info("grouped the failures stored before", "spans", filled)
			}
			return nil
		}
	}
}

// ErrorGroups groups a project's failures in range, through
// spans_project_error_groups, the index of failed spans.
func (s *Store) ErrorGroups(ctx context.Context, q store.ErrorGroupQuery) ([]store.ErrorGroup, error) {
	rows, err := s.pool.Query(ctx, `SELECT error_group, coalesce(model_name, ''), ((start_time - $1) / $2)::int,
		count(*), min(start_time), max(start_time), max(id)
		FROM spans
		WHERE project_id = $3 AND status_code = 'ERROR' AND start_time >= $4 AND start_time < $5 AND error_group IS NOT NULL
		GROUP BY 1, 2, 3`, q.StartTime, q.BucketWidth(), q.ProjectID, q.StartTime, q.EndTime)
	if err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}
	cells, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ErrorGroupCell, error) {
		var c store.ErrorGroupCell
		err := row.Scan(&c.Key, &c.Model, &c.Bucket, &c.Count, &c.First, &c.Last, &c.MaxRowID)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}
	if len(cells) == 0 {
		return nil, nil
	}
	// Every failure's version, from the index of failures with the counts
	// (store.PromptVersionColumn, migration 0020).
	rows, err = s.pool.Query(ctx, `SELECT error_group, prompt_version, count(*)
		FROM spans
		WHERE project_id = $1 AND status_code = 'ERROR' AND start_time >= $2 AND start_time < $3 AND error_group IS NOT NULL
			AND prompt_version <> ''
		GROUP BY 1, 2`, q.ProjectID, q.StartTime, q.EndTime)
	if err != nil {
		return nil, fmt.Errorf("group failures by prompt version: %w", err)
	}
	versions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ErrorGroupVersion, error) {
		var v store.ErrorGroupVersion
		var version *string
		err := row.Scan(&v.Key, &version, &v.Count)
		if version != nil {
			v.Version = *version
		}
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("group failures by prompt version: %w", err)
	}
	return store.GroupErrors(q, cells, versions), nil
}
