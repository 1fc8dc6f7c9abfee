package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/store"
)

// RetentionPolicy returns a project's policy, or the default it follows.
func (s *Store) RetentionPolicy(ctx context.Context, projectID int64) (store.RetentionPolicy, error) {
	var p store.RetentionPolicy
	if projectID != store.DefaultPolicy {
		err := s.pool.QueryRow(ctx, `SELECT max_days, max_traces FROM retention_policies WHERE project_id = $1`,
			projectID).Scan(&p.MaxDays, &p.MaxTraces)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return p, fmt.Errorf("read retention policy of project %d: %w", projectID, err)
		}
		p.Inherited = true
	}
	err := s.pool.QueryRow(ctx, `SELECT max_days, max_traces FROM default_retention_policy`).Scan(&p.MaxDays, &p.MaxTraces)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("read default retention policy: %w", err)
	}
	return p, nil
}

// SetRetentionPolicy stores a project's policy, or the default.
func (s *Store) SetRetentionPolicy(ctx context.Context, projectID int64, p store.RetentionPolicy) error {
	if p.MaxDays < 0 || p.MaxTraces < 0 {
		return fmt.Errorf("retention bounds must not be negative: %w", store.ErrInvalidArgument)
	}
	var err error
	if projectID == store.DefaultPolicy {
		_, err = s.pool.Exec(ctx, `INSERT INTO default_retention_policy (id, max_days, max_traces, updated_at)
			VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET max_days = excluded.max_days,
			max_traces = excluded.max_traces, updated_at = excluded.updated_at`, p.MaxDays, p.MaxTraces, nowNanos())
	} else {
		_, err = s.pool.Exec(ctx, `INSERT INTO retention_policies (project_id, max_days, max_traces, updated_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE SET max_days = excluded.max_days,
			max_traces = excluded.max_traces, updated_at = excluded.updated_at`, projectID, p.MaxDays, p.MaxTraces, nowNanos())
	}
	if isForeignKeyViolation(err, "") {
		return fmt.Errorf("project %d: %w", projectID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set retention policy of project %d: %w", projectID, err)
	}
	return nil
}

// DeleteRetentionPolicy makes a project follow the default, or removes the
// default so that such projects keep everything.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, projectID int64) error {
	q, args := `DELETE FROM retention_policies WHERE project_id = $1`, []any{projectID}
	if projectID == store.DefaultPolicy {
		q, args = `DELETE FROM default_retention_policy`, nil
	}
	if _, err := s.pool.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("delete retention policy of project %d: %w", projectID, err)
	}
	return nil
}

// RetentionPolicies returns every stored policy, the default under project 0.
func (s *Store) RetentionPolicies(ctx context.Context) (map[int64]store.RetentionPolicy, error) {
	rows, err := s.pool.Query(ctx, `SELECT project_id, max_days, max_traces FROM retention_policies
		UNION ALL SELECT 0, max_days, max_traces FROM default_retention_policy`)
	if err != nil {
		return nil, fmt.Errorf("list retention policies: %w", err)
	}
	out := map[int64]store.RetentionPolicy{}
	var id int64
	var p store.RetentionPolicy
	if _, err := pgx.ForEachRow(rows, []any{&id, &p.MaxDays, &p.MaxTraces}, func() error {
		out[id] = p
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list retention policies: %w", err)
	}
	return out, nil
}

// DeleteTraces deletes one bounded batch of a project's oldest expired
// traces. Traces a writer holds are skipped, so the sweepers of several
// servers share the work instead of waiting on each other or on ingest.
func (s *Store) DeleteTraces(ctx context.Context, d store.TraceDeletion) (store.Deleted, error) {
	if d.Limit <= 0 {
		return store.Deleted{}, fmt.Errorf("trace deletion needs a positive limit: %w", store.ErrInvalidArgument)
	}
	var del store.Deleted
	err := s.inTx(ctx, fmt.Sprintf("delete expired traces of project %d", d.ProjectID), func(tx pgx.Tx) error {
		del = store.Deleted{}
		var w where
		w.add("project_id = " + w.arg(d.ProjectID))
		cond, err := expiredCondition(ctx, tx, &w, d)
		if err != nil || cond == "" {
			return err
		}
		w.add("(" + cond + ")")
		rows, err := tx.Query(ctx, `WITH doomed AS (
				SELECT id FROM traces`+w.clause()+` ORDER BY start_time, id`+w.limit(d.Limit)+` FOR UPDATE SKIP LOCKED)
			DELETE FROM traces t USING doomed WHERE t.id = doomed.id
			RETURNING coalesce(t.session_rowid, 0), t.span_count`, w.args...)
		if err != nil {
			return fmt.Errorf("delete traces: %w", err)
		}
		seen := map[int64]bool{}
		var sessions []int64
		var session, spans int64
		if _, err := pgx.ForEachRow(rows, []any{&session, &spans}, func() error {
			del.Traces++
			del.Spans += spans
			if session != 0 && !seen[session] {
				seen[session] = true
				sessions = append(sessions, session)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("delete traces: %w", err)
		}
		if len(sessions) > 0 {
			del.Sessions, err = recomputeSessions(ctx, tx, sessions)
		}
		return err
	})
	if err != nil {
		return store.Deleted{}, err
	}
	return del, nil
}

// expiredCondition is the condition on a project's traces that d selects,
// binding its values in w, or "" when it selects nothing.
func expiredCondition(ctx context.Context, tx pgx.Tx, w *where, d store.TraceDeletion) (string, error) {
	cond := ""
	if d.StartedBefore > 0 {
		cond = "start_time < " + w.arg(d.StartedBefore)
	}
	if d.KeepNewest > 0 {
		// The oldest trace kept; everything before it in (start_time, id)
		// order goes.
		var start, id int64
		err := tx.QueryRow(ctx, `SELECT start_time, id FROM traces WHERE project_id = $1
			ORDER BY start_time DESC, id DESC OFFSET $2 LIMIT 1`, d.ProjectID, d.KeepNewest-1).Scan(&start, &id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return "", fmt.Errorf("find the oldest kept trace: %w", err)
		default:
			if cond != "" {
				cond += " OR "
			}
			cond += "(start_time, id) < (" + w.arg(start) + ", " + w.arg(id) + ")"
		}
	}
	if d.StartedFrom != 0 && cond != "" {
		cond = "(" + cond + ") AND start_time >= " + w.arg(d.StartedFrom)
	}
	return cond, nil
}

// StorageReport counts what each project holds from the trace roll-ups and
// shares the size of Loupe's tables out by span count.
func (s *Store) StorageReport(ctx context.Context, q store.StorageQuery) (store.StorageReport, error) {
	var r store.StorageReport
	// Tables with their indexes and TOAST, in the schema Loupe uses.
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&r.DatabaseBytes); err != nil {
		return r, fmt.Errorf("read database size: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT p.id, p.name, coalesce(c.traces, 0), coalesce(c.spans, 0)
		FROM projects p LEFT JOIN (
			SELECT project_id, count(*) AS traces, sum(span_count) AS spans FROM traces GROUP BY project_id) c
		ON c.project_id = p.id ORDER BY p.id`)
	if err != nil {
		return r, fmt.Errorf("count project data: %w", err)
	}
	var p store.ProjectStorage
	if _, err := pgx.ForEachRow(rows, []any{&p.ProjectID, &p.Name, &p.Traces, &p.Spans}, func() error {
		r.Traces += p.Traces
		r.Spans += p.Spans
		r.Projects = append(r.Projects, p)
		return nil
	}); err != nil {
		return r, fmt.Errorf("count project data: %w", err)
	}
	store.EstimateBytes(&r)
	if q.Days <= 0 {
		return r, nil
	}
	days := store.Days(q.Now, q.Days)
	for i := range r.Projects {
		p := &r.Projects[i]
		rows, err := s.pool.Query(ctx, `SELECT start_time - start_time % $1 AS day, sum(span_count)::bigint FROM traces
			WHERE project_id = $2 AND start_time >= $3 AND start_time < $4 GROUP BY day`,
			store.Day, p.ProjectID, days[0], days[len(days)-1]+store.Day)
		if err != nil {
			return r, fmt.Errorf("count daily spans of project %d: %w", p.ProjectID, err)
		}
		p.Daily = make([]store.DayCount, len(days))
		for i, d := range days {
			p.Daily[i].Day = d
		}
		var day, spans int64
		if _, err := pgx.ForEachRow(rows, []any{&day, &spans}, func() error {
			if i := (day - days[0]) / store.Day; i >= 0 && int(i) < len(p.Daily) {
				p.Daily[i].Spans = spans
			}
			return nil
		}); err != nil {
			return r, fmt.Errorf("count daily spans of project %d: %w", p.ProjectID, err)
		}
	}
	return r, nil
}
