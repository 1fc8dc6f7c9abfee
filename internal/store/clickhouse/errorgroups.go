package clickhouse

import (
	"context"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// ErrorGroups groups a project's failures in range. The error group is
// written with the span (spans.error_group), so both reads are of the
// failed spans in range alone: the counts by group, model and stretch, and
// by group and prompt version.
func (s *Store) ErrorGroups(ctx context.Context, q store.ErrorGroupQuery) ([]store.ErrorGroup, error) {
	args := []any{ch.Named("p", q.ProjectID), ch.Named("start", q.StartTime), ch.Named("end", q.EndTime),
		ch.Named("w", q.BucketWidth())}
	const failures = `FROM spans FINAL WHERE project_id = {p:Int64} AND status_code = 'ERROR'
		AND start_time >= {start:Int64} AND start_time < {end:Int64} AND error_group IS NOT NULL`
	// Row ids are hashes: the newest failure of a cell is the one that
	// arrived last (the highest version), not the highest id.
	rows, err := s.conn.Query(ctx, `SELECT assumeNotNull(error_group), ifNull(model_name, ''),
			toInt64(intDiv(start_time - {start:Int64}, {w:Int64})), toInt64(count()), min(start_time), max(start_time),
			argMax(id, (version, id)), max(version) `+failures+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("group failures: %w", err))
	}
	var cells []store.ErrorGroupCell
	latest := map[string][2]int64{} // version, row id of each group's newest failure
	for rows.Next() {
		var c store.ErrorGroupCell
		var version, bucket int64
		if err := rows.Scan(&c.Key, &c.Model, &bucket, &c.Count, &c.First, &c.Last, &c.MaxRowID, &version); err != nil {
			rows.Close()
			return nil, fmt.Errorf("group failures: %w", err)
		}
		c.Bucket = int(bucket)
		if l, ok := latest[c.Key]; !ok || version > l[0] {
			latest[c.Key] = [2]int64{version, c.MaxRowID}
		}
		cells = append(cells, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, fmt.Errorf("group failures: %w", err))
	}
	if len(cells) == 0 {
		return nil, nil
	}
	// Every failure's version counts, as text whatever its JSON type
	// (store.PromptVersionColumn).
	rows, err = s.conn.Query(ctx, `SELECT g, v, toInt64(count()) FROM (
			SELECT assumeNotNull(error_group) AS g,
				if(JSONType(attributes, 'llm.prompt_template.version') = 'String',
					JSONExtractString(attributes, 'llm.prompt_template.version'),
					JSONExtractRaw(attributes, 'llm.prompt_template.version')) AS v
			`+failures+`)
		WHERE v != '' GROUP BY g, v`, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("group failures by prompt version: %w", err))
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
		return nil, classify(ctx, fmt.Errorf("group failures by prompt version: %w", err))
	}
	groups := store.GroupErrors(q, cells, versions)
	for i := range groups {
		groups[i].LatestRowID = latest[groups[i].Key][1]
	}
	return groups, nil
}
