package clickhouse

import (
	"context"
	"fmt"
	"strconv"
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
	id := projectRowID(name)
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

// DeleteProject deletes a project with its traces, spans and sessions: its
// row is replaced by a deleted version at once, and its data by lightweight
// deletes.
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	p, err := s.ProjectByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO projects VALUES ({id:Int64}, {n:String}, '', {c:Int64}, {now:Int64}, {now:Int64}, 1)",
		ch.Named("id", id), ch.Named("n", p.Name), ch.Named("c", p.CreatedAt), ch.Named("now", max(nowNanos(), p.UpdatedAt+1))); err != nil {
		return classify(ctx, fmt.Errorf("delete project: %w", err))
	}
	s.mu.Lock()
	delete(s.projects, p.Name)
	s.mu.Unlock()
	// A project made again under the name has the same id: it starts
	// without the old one's annotation configs.
	if err := s.PutSetting(ctx, projectConfigsKey+strconv.FormatInt(id, 10), ""); err != nil {
		return fmt.Errorf("delete project %d: %w", id, err)
	}
	for _, stmt := range []string{
		"DELETE FROM trace_stats WHERE trace_rowid IN (SELECT id FROM traces WHERE project_id = {id:Int64})",
		"DELETE FROM span_states WHERE trace_rowid IN (SELECT id FROM traces WHERE project_id = {id:Int64})",
		"DELETE FROM spans WHERE project_id = {id:Int64}",
		"DELETE FROM traces WHERE project_id = {id:Int64}",
		"DELETE FROM sessions WHERE project_id = {id:Int64}",
	} {
		if err := s.execLocal(ctx, stmt, ch.Named("id", id)); err != nil {
			return classify(ctx, fmt.Errorf("delete project %d: %w", id, err))
		}
	}
	return nil
}

// execLocal runs a lightweight DELETE: on one node as written, on a cluster
// on each shard's local table (a Distributed table takes no DELETE).
func (s *Store) execLocal(ctx context.Context, stmt string, args ...any) error {
	if s.cluster == "" {
		return s.conn.Exec(ctx, stmt, args...)
	}
	return unsupported("deletes on a cluster")
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

// RetentionPolicy is the default, keep everything: per-project policies are
// not supported yet (SetRetentionPolicy refuses them).
func (s *Store) RetentionPolicy(ctx context.Context, projectID int64) (store.RetentionPolicy, error) {
	return store.RetentionPolicy{Inherited: projectID != store.DefaultPolicy}, nil
}

// RetentionPolicies lists no policy: none can be set yet.
func (s *Store) RetentionPolicies(ctx context.Context) (map[int64]store.RetentionPolicy, error) {
	return map[int64]store.RetentionPolicy{}, nil
}

// projectTraces is one row per trace of project {p:Int64} with its sums,
// for the project's aggregate reads.
var projectTraces = "(SELECT start_time AS start, end_time AS end, span_count AS spans, error_count AS errors, " +
	"prompt_tokens AS prompt, completion_tokens AS completion, total_tokens AS total, cost_total AS cost FROM (" +
	traceRows("project_id = {p:Int64}") + "))"

// ProjectStats sums a project's traces that started in [start, end).
func (s *Store) ProjectStats(ctx context.Context, projectID, start, end int64) (store.ProjectStats, error) {
	var w where
	w.args = []any{ch.Named("p", projectID)}
	if start != 0 {
		w.add("start >= " + w.arg("Int64", start))
	}
	if end != 0 {
		w.add("start < " + w.arg("Int64", end))
	}
	var st store.ProjectStats
	err := s.conn.QueryRow(ctx, `SELECT toInt64(count()), toInt64(countIf(errors > 0)), toInt64(sum(spans)),
		toInt64(sum(prompt)), toInt64(sum(completion)), toInt64(sum(total)), toFloat64(sum(cost)) FROM `+projectTraces+w.clause(), w.args...).
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

// SessionLatencies summarises the latencies of each session's traces.
func (s *Store) SessionLatencies(ctx context.Context, sessionRowIDs []int64) (map[int64]store.LatencySummary, error) {
	out := map[int64]store.LatencySummary{}
	if len(sessionRowIDs) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT session_rowid, groupArray(end_time - start_time) FROM ("+
		traceRows("session_rowid IN {ids:Array(Int64)}")+") GROUP BY session_rowid", ch.Named("ids", sessionRowIDs))
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
