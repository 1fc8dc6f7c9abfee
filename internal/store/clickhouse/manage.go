package clickhouse

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// CreateProject creates a project; a name taken is ErrConflict. Two servers
// creating the same name at once write the same row id, and one row stays.
func (s *Store) CreateProject(ctx context.Context, name, description string) (store.Project, error) {
	name = strings.TrimSpace(text(name))
	if name == "" {
		return store.Project{}, fmt.Errorf("%w: a project needs a name", store.ErrInvalidArgument)
	}
	if _, err := s.ProjectByName(ctx, name); err == nil {
		return store.Project{}, fmt.Errorf("project %q: %w", name, store.ErrConflict)
	}
	now := nowNanos()
	ids, _, err := s.projectIDs(ctx, []string{name})
	if err != nil {
		return store.Project{}, classify(ctx, fmt.Errorf("create project: %w", err))
	}
	id := ids[name]
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO projects VALUES ({id:Int64}, {n:String}, {d:String}, {now:Int64}, {now:Int64}, {now:Int64}, 0)",
		ch.Named("id", id), ch.Named("n", name), ch.Named("d", text(description)), ch.Named("now", now)); err != nil {
		return store.Project{}, classify(ctx, fmt.Errorf("create project: %w", err))
	}
	s.mu.Lock()
	s.projects[name] = id
	s.mu.Unlock()
	return s.ProjectByID(ctx, id)
}

// UpdateProject sets a project's description, writing a new version of its row.
func (s *Store) UpdateProject(ctx context.Context, id int64, description string) (store.Project, error) {
	p, err := s.ProjectByID(ctx, id)
	if err != nil {
		return p, err
	}
	now := max(nowNanos(), p.UpdatedAt+1)
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO projects VALUES ({id:Int64}, {n:String}, {d:String}, {c:Int64}, {now:Int64}, {now:Int64}, 0)",
		ch.Named("id", id), ch.Named("n", p.Name), ch.Named("d", text(description)), ch.Named("c", p.CreatedAt), ch.Named("now", now)); err != nil {
		return store.Project{}, classify(ctx, fmt.Errorf("update project: %w", err))
	}
	return s.ProjectByID(ctx, id)
}

// Setting reads a server-wide setting.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT value FROM settings FINAL WHERE key = {k:String}", ch.Named("k", text(key)))
	if err != nil {
		return "", false, classify(ctx, fmt.Errorf("read setting %q: %w", key, err))
	}
	defer rows.Close()
	if !rows.Next() {
		return "", false, classify(ctx, rows.Err())
	}
	var v string
	if err := rows.Scan(&v); err != nil {
		return "", false, err
	}
	return v, true, nil
}

// PutSetting writes a server-wide setting; the latest write wins.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO settings VALUES ({k:String}, {v:String}, {t:Int64})",
		ch.Named("k", text(key)), ch.Named("v", text(value)), ch.Named("t", nowNanos())); err != nil {
		return classify(ctx, fmt.Errorf("write setting %q: %w", key, err))
	}
	return nil
}

// SearchLag is 0: a span's text is searchable once its insert returns.
func (s *Store) SearchLag(ctx context.Context, projectID int64) (int64, error) { return 0, nil }

// WaitIndexed returns at once, as SearchLag is always 0.
func (s *Store) WaitIndexed(ctx context.Context) error { return nil }

// projectTraces is one row per trace of project {p:Int64} with its counts
// and times, for the project's aggregate reads.
var projectTraces = "(SELECT id, start_time AS start, end_time AS end, span_count AS spans, error_count AS errors FROM (" +
	traceStats("project_id = {p:Int64}") + "))"

// ProjectStats sums a project's traces that started in [start, end): counts
// from the traces' roll-ups, tokens and cost over the counted model calls
// of those traces in one pass, not trace by trace.
func (s *Store) ProjectStats(ctx context.Context, projectID, start, end int64) (store.ProjectStats, error) {
	var w where
	w.args = []any{ch.Named("p", projectID)}
	if start != 0 {
		w.add("start >= " + w.arg("Int64", start))
	}
	if end != 0 {
		w.add("start < " + w.arg("Int64", end))
	}
	inRange := "(SELECT id FROM " + projectTraces + w.clause() + ")"
	var st store.ProjectStats
	err := s.conn.QueryRow(ctx, `SELECT a.*, b.* FROM
		(SELECT toInt64(count()), toInt64(countIf(errors > 0)), toInt64(sum(spans)) FROM `+projectTraces+w.clause()+`) AS a
		CROSS JOIN (SELECT toInt64(sum(prompt_tokens)), toInt64(sum(completion_tokens)), toInt64(sum(total_tokens)),
			toFloat64(sum(cost_total)) FROM (`+callSums(inRange)+`)) AS b`, w.args...).
		Scan(&st.Traces, &st.ErrorTraces, &st.Spans, &st.Tokens.Prompt, &st.Tokens.Completion, &st.Tokens.Total, &st.Cost)
	if err != nil {
		return st, classify(ctx, fmt.Errorf("project stats: %w", err))
	}
	rows, err := s.conn.Query(ctx, "SELECT end - start FROM "+projectTraces+w.clause()+
		fmt.Sprintf(" ORDER BY start DESC LIMIT %d", store.StatsLatencySample), w.args...)
	if err != nil {
		return st, classify(ctx, fmt.Errorf("project latencies: %w", err))
	}
	defer rows.Close()
	var lat []int64
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			return st, err
		}
		lat = append(lat, l)
	}
	st.Latency = store.SummarizeLatencies(lat, st.Traces)
	return st, classify(ctx, rows.Err())
}

// ProjectsStats is ProjectStats of many projects in two statements, not two
// each: the home page's hundred projects are two round trips.
func (s *Store) ProjectsStats(ctx context.Context, projectIDs []int64, start, end int64) (map[int64]store.ProjectStats, error) {
	out := map[int64]store.ProjectStats{}
	if len(projectIDs) == 0 {
		return out, nil
	}
	var w where
	w.args = []any{ch.Named("ps", projectIDs)}
	if start != 0 {
		w.add("start >= " + w.arg("Int64", start))
	}
	if end != 0 {
		w.add("start < " + w.arg("Int64", end))
	}
	traces := "(SELECT id, project_id, start_time AS start, end_time AS end, span_count AS spans, error_count AS errors FROM (" +
		traceStats("project_id IN {ps:Array(Int64)}") + ")" + w.clause() + ")"
	// Latencies of the newest StatsLatencySample traces of each project.
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT project_id, toInt64(count()), toInt64(countIf(errors > 0)), toInt64(sum(spans)),
			arrayMap(x -> x.2, arraySlice(arrayReverseSort(x -> x.1, groupArray((start, end - start))), 1, %d))
		FROM %s GROUP BY project_id`, store.StatsLatencySample, traces), w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("projects stats: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var st store.ProjectStats
		var lat []int64
		if err := rows.Scan(&id, &st.Traces, &st.ErrorTraces, &st.Spans, &lat); err != nil {
			return nil, fmt.Errorf("projects stats: %w", err)
		}
		st.Latency = store.SummarizeLatencies(lat, st.Traces)
		out[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	rows.Close()
	sums, err := s.conn.Query(ctx, `SELECT project_id, toInt64(sum(prompt_tokens)), toInt64(sum(completion_tokens)),
			toInt64(sum(total_tokens)), toFloat64(sum(cost_total))
		FROM (SELECT c.*, t.project_id AS project_id FROM (`+callSums("(SELECT id FROM "+traces+")")+`) AS c
			JOIN (SELECT id, project_id FROM `+traces+`) AS t ON t.id = c.trace_rowid)
		GROUP BY project_id`, w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("projects sums: %w", err))
	}
	defer sums.Close()
	for sums.Next() {
		var id int64
		var tk store.TokenSums
		var cost float64
		if err := sums.Scan(&id, &tk.Prompt, &tk.Completion, &tk.Total, &cost); err != nil {
			return nil, fmt.Errorf("projects sums: %w", err)
		}
		st := out[id]
		st.Tokens, st.Cost = tk, cost
		out[id] = st
	}
	return out, classify(ctx, sums.Err())
}

// SessionLatencies summarises the latencies of each session's traces.
func (s *Store) SessionLatencies(ctx context.Context, sessionRowIDs []int64) (map[int64]store.LatencySummary, error) {
	out := map[int64]store.LatencySummary{}
	if len(sessionRowIDs) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT session_rowid, groupArray(end_time - start_time) FROM ("+
		traceStats("session_rowid IN {ids:Array(Int64)}")+") GROUP BY session_rowid", ch.Named("ids", sessionRowIDs))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("session latencies: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var lat []int64
		if err := rows.Scan(&id, &lat); err != nil {
			return nil, err
		}
		out[id] = store.SummarizeLatencies(lat, int64(len(lat)))
	}
	return out, classify(ctx, rows.Err())
}
