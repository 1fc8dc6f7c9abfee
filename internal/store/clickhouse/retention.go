package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// Retention policies are settings rows (retention.policy.ID, as JSON; an
// empty value is no policy). The retention sweeper deletes expired traces
// through DeleteTraces, in bounded batches of lightweight deletes, so that
// sessions, annotations and every count follow. Spans are partitioned by
// the day they started, so the rows a sweep masks are in the oldest
// partitions, and merges drop them there without touching the days kept.

const policyPrefix = "retention.policy."

func policyKey(projectID int64) string { return policyPrefix + strconv.FormatInt(projectID, 10) }

type policyJSON struct {
	MaxDays   float64 `json:"max_days"`
	MaxTraces int64   `json:"max_traces"`
}

func readPolicy(v string) (store.RetentionPolicy, bool) {
	var p policyJSON
	if v == "" || json.Unmarshal([]byte(v), &p) != nil {
		return store.RetentionPolicy{}, false
	}
	return store.RetentionPolicy{MaxDays: p.MaxDays, MaxTraces: p.MaxTraces}, true
}

// RetentionPolicy returns a project's policy, or the default it follows.
func (s *Store) RetentionPolicy(ctx context.Context, projectID int64) (store.RetentionPolicy, error) {
	if projectID != store.DefaultPolicy {
		v, _, err := s.Setting(ctx, policyKey(projectID))
		if err != nil {
			return store.RetentionPolicy{}, err
		}
		if p, ok := readPolicy(v); ok {
			return p, nil
		}
	}
	v, _, err := s.Setting(ctx, policyKey(store.DefaultPolicy))
	if err != nil {
		return store.RetentionPolicy{}, err
	}
	p, _ := readPolicy(v)
	p.Inherited = projectID != store.DefaultPolicy
	return p, nil
}

// SetRetentionPolicy stores a project's policy, or the default.
func (s *Store) SetRetentionPolicy(ctx context.Context, projectID int64, p store.RetentionPolicy) error {
	if p.MaxDays < 0 || p.MaxTraces < 0 {
		return fmt.Errorf("retention bounds must not be negative: %w", store.ErrInvalidArgument)
	}
	if projectID != store.DefaultPolicy {
		if _, err := s.ProjectByID(ctx, projectID); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(policyJSON{MaxDays: p.MaxDays, MaxTraces: p.MaxTraces})
	return s.PutSetting(ctx, policyKey(projectID), string(b))
}

// DeleteRetentionPolicy makes a project follow the default, or removes the
// default.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, projectID int64) error {
	return s.PutSetting(ctx, policyKey(projectID), "")
}

// RetentionPolicies returns every stored policy, the default under 0.
func (s *Store) RetentionPolicies(ctx context.Context) (map[int64]store.RetentionPolicy, error) {
	rows, err := s.conn.Query(ctx, "SELECT key, value FROM settings FINAL WHERE startsWith(key, {p:String}) AND value != ''",
		ch.Named("p", policyPrefix))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("list retention policies: %w", err))
	}
	defer rows.Close()
	out := map[int64]store.RetentionPolicy{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(k, policyPrefix), 10, 64)
		if p, ok := readPolicy(v); ok && err == nil {
			out[id] = p
		}
	}
	return out, classify(ctx, rows.Err())
}

// projectIDs returns the row ids that projects by these names have or
// will have, and which of them exist. A name's first project has the id
// derived from the name; a project created again after a delete gets the
// id derived from the name and the number of its deleted predecessors
// (their rows stay, deleted), so it never takes a deleted one's id, and
// servers creating it at once still agree on one.
func (s *Store) projectIDs(ctx context.Context, names []string) (map[string]int64, map[int64]bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT name, id, argMax(is_deleted, version) FROM projects
		WHERE name IN {n:Array(String)} GROUP BY name, id`, ch.Named("n", names))
	if err != nil {
		return nil, nil, fmt.Errorf("find projects: %w", err)
	}
	defer rows.Close()
	ids, live := map[string]int64{}, map[int64]bool{}
	deleted := map[string]int{}
	for rows.Next() {
		var name string
		var id int64
		var gone uint8
		if err := rows.Scan(&name, &id, &gone); err != nil {
			return nil, nil, err
		}
		if gone == 0 {
			ids[name], live[id] = id, true
		} else {
			deleted[name]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			ids[n] = projectIncarnation(n, deleted[n])
		}
	}
	return ids, live, nil
}

func projectIncarnation(name string, n int) int64 {
	if n == 0 {
		return projectRowID(name)
	}
	return rowID("project", name, strconv.Itoa(n))
}

// DeleteProject deletes a project with its traces, spans, sessions,
// annotations and retention policy: its row is replaced by a deleted
// version at once, and its data by lightweight deletes.
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
	if err := s.DeleteRetentionPolicy(ctx, id); err != nil {
		return err
	}
	if err := s.PutSetting(ctx, projectConfigsKey+strconv.FormatInt(id, 10), ""); err != nil {
		return fmt.Errorf("delete project %d: %w", id, err)
	}
	// A trace's rows share its shard, so each shard finds its own traces.
	for _, stmt := range []string{
		"DELETE FROM {trace_stats} WHERE trace_rowid IN (SELECT id FROM {traces} WHERE project_id = {id:Int64})",
		"DELETE FROM {span_states} WHERE trace_rowid IN (SELECT id FROM {traces} WHERE project_id = {id:Int64})",
		"DELETE FROM {spans} WHERE project_id = {id:Int64}",
		"DELETE FROM {traces} WHERE project_id = {id:Int64}",
		"DELETE FROM {sessions} WHERE project_id = {id:Int64}",
		"DELETE FROM {annotations} WHERE project_id = {id:Int64}",
	} {
		if err := s.execLocal(ctx, stmt, ch.Named("id", id)); err != nil {
			return classify(ctx, fmt.Errorf("delete project %d: %w", id, err))
		}
	}
	return nil
}
