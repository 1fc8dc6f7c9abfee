package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// TransferTraces moves traces, their spans, sessions and annotations to
// another project. Each row is written again with the new project: spans
// with their own version (the same version, written later, replaces the
// row, and keeps the span's place in the order of arrival), the others
// with a higher one. The traces' rows go last, so a transfer cut short is
// found where it was and finished by the next; later spans of a moved
// trace follow its row.
func (s *Store) TransferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error) {
	if len(traceIDs) == 0 {
		return 0, nil
	}
	n, err := s.transferTraces(ctx, traceIDs, toProject)
	if err != nil {
		return 0, classify(ctx, err)
	}
	return n, nil
}

func (s *Store) transferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error) {
	if _, err := s.ProjectByID(ctx, toProject); err != nil {
		return 0, err
	}
	var ids []int64
	byID := map[int64]string{}
	for _, t := range traceIDs {
		id := traceRowID(text(t))
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
			byID[id] = t
		}
	}
	idArg := ch.Named("ids", ids)
	rows, err := s.conn.Query(ctx, "SELECT id, project_id, session_rowid FROM traces FINAL WHERE id IN {ids:Array(Int64)}", idArg)
	if err != nil {
		return 0, fmt.Errorf("find traces: %w", err)
	}
	found := map[int64]bool{}
	sources := map[int64]bool{}
	var sessions []int64
	for rows.Next() {
		var id, project, session int64
		if err := rows.Scan(&id, &project, &session); err != nil {
			rows.Close()
			return 0, err
		}
		found[id], sources[project] = true, true
		if session != 0 && !slices.Contains(sessions, session) {
			sessions = append(sessions, session)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find traces: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, byID[id])
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("traces %s: %w", strings.Join(missing, ", "), store.ErrNotFound)
	}
	if len(sources) > 1 {
		return 0, fmt.Errorf("traces come from %d projects; transfer traces of one project at a time: %w", len(sources), store.ErrInvalidArgument)
	}
	to, now := ch.Named("to", toProject), ch.Named("v", nowNanos())
	ctx = insertCtx(ctx, "")
	if err := s.conn.Exec(ctx, "INSERT INTO spans SELECT * REPLACE ({to:Int64} AS project_id) FROM spans FINAL WHERE trace_rowid IN {ids:Array(Int64)}",
		to, idArg); err != nil {
		return 0, fmt.Errorf("move spans: %w", err)
	}
	// The spans' annotations are found by the spans' row ids, read on the
	// spans' shards; annotations are sharded apart.
	rows, err = s.conn.Query(ctx, "SELECT DISTINCT id FROM spans WHERE trace_rowid IN {ids:Array(Int64)}", idArg)
	if err != nil {
		return 0, fmt.Errorf("find the spans of %d traces: %w", len(ids), err)
	}
	var spanIDs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		spanIDs = append(spanIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := s.conn.Exec(ctx, `INSERT INTO annotations SELECT * REPLACE ({to:Int64} AS project_id, {v:Int64} AS version)
		FROM annotations FINAL WHERE (kind = 'trace' AND entity_rowid IN {ids:Array(Int64)})
			OR (kind IN ('span', 'document') AND entity_rowid IN {spans:Array(Int64)})
			OR (kind = 'session' AND entity_rowid IN {sessions:Array(Int64)})`,
		to, now, idArg, ch.Named("spans", spanIDs), ch.Named("sessions", sessions)); err != nil {
		return 0, fmt.Errorf("move annotations: %w", err)
	}
	if err := s.conn.Exec(ctx, "INSERT INTO sessions SELECT * REPLACE ({to:Int64} AS project_id, {v:Int64} AS version) FROM sessions FINAL WHERE id IN {sessions:Array(Int64)}",
		to, now, ch.Named("sessions", sessions)); err != nil {
		return 0, fmt.Errorf("move sessions: %w", err)
	}
	if err := s.conn.Exec(ctx, "INSERT INTO traces SELECT * REPLACE ({to:Int64} AS project_id, version + 1 AS version) FROM traces FINAL WHERE id IN {ids:Array(Int64)}",
		to, idArg); err != nil {
		return 0, fmt.Errorf("move traces: %w", err)
	}
	return len(ids), nil
}
