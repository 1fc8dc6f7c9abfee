package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// RetentionPolicy returns a project's policy, or the default it follows.
func (s *Store) RetentionPolicy(ctx context.Context, projectID int64) (store.RetentionPolicy, error) {
	var p store.RetentionPolicy
	if projectID != store.DefaultPolicy {
		err := s.read.QueryRowContext(ctx, `SELECT max_days, max_traces FROM retention_policies WHERE project_id = ?`,
			projectID).Scan(&p.MaxDays, &p.MaxTraces)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return p, fmt.Errorf("read retention policy of project %d: %w", projectID, err)
		}
		p.Inherited = true
	}
	err := s.read.QueryRowContext(ctx, `SELECT max_days, max_traces FROM default_retention_policy`).Scan(&p.MaxDays, &p.MaxTraces)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("read default retention policy: %w", err)
	}
	return p, nil
}

// SetRetentionPolicy stores a project's policy, or the default.
func (s *Store) SetRetentionPolicy(ctx context.Context, projectID int64, p store.RetentionPolicy) error {
	if p.MaxDays < 0 || p.MaxTraces < 0 {
		return fmt.Errorf("retention bounds must not be negative: %w", store.ErrInvalidArgument)
	}
	now := time.Now().UnixNano()
	return s.inWriteTx(ctx, "set retention policy", func(tx *sql.Tx) error {
		if projectID == store.DefaultPolicy {
			_, err := tx.ExecContext(ctx, `INSERT INTO default_retention_policy (id, max_days, max_traces, updated_at)
				VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET max_days = excluded.max_days,
				max_traces = excluded.max_traces, updated_at = excluded.updated_at`, p.MaxDays, p.MaxTraces, now)
			if err != nil {
				return fmt.Errorf("set default retention policy: %w", err)
			}
			return nil
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE id = ?`, projectID).Scan(&exists); err != nil {
			return fmt.Errorf("find project %d: %w", projectID, err)
		}
		if exists == 0 {
			return fmt.Errorf("project %d: %w", projectID, store.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_policies (project_id, max_days, max_traces, updated_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (project_id) DO UPDATE SET max_days = excluded.max_days,
			max_traces = excluded.max_traces, updated_at = excluded.updated_at`, projectID, p.MaxDays, p.MaxTraces, now)
		if err != nil {
			return fmt.Errorf("set retention policy of project %d: %w", projectID, err)
		}
		return nil
	})
}

// DeleteRetentionPolicy makes a project follow the default, or removes the
// default so that such projects keep everything.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, projectID int64) error {
	return s.inWriteTx(ctx, "delete retention policy", func(tx *sql.Tx) error {
		q, args := `DELETE FROM retention_policies WHERE project_id = ?`, []any{projectID}
		if projectID == store.DefaultPolicy {
			q, args = `DELETE FROM default_retention_policy`, nil
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("delete retention policy of project %d: %w", projectID, err)
		}
		return nil
	})
}

// RetentionPolicies returns every stored policy, the default under project 0.
func (s *Store) RetentionPolicies(ctx context.Context) (map[int64]store.RetentionPolicy, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT project_id, max_days, max_traces FROM retention_policies
		UNION ALL SELECT 0, max_days, max_traces FROM default_retention_policy`)
	if err != nil {
		return nil, fmt.Errorf("list retention policies: %w", err)
	}
	defer rows.Close()
	out := map[int64]store.RetentionPolicy{}
	for rows.Next() {
		var id int64
		var p store.RetentionPolicy
		if err := rows.Scan(&id, &p.MaxDays, &p.MaxTraces); err != nil {
			return nil, fmt.Errorf("list retention policies: %w", err)
		}
		out[id] = p
	}
	return out, rows.Err()
}

// DeleteTraces deletes one bounded batch of a project's oldest expired traces.
func (s *Store) DeleteTraces(ctx context.Context, d store.TraceDeletion) (store.Deleted, error) {
	var del store.Deleted
	if d.Limit <= 0 {
		return del, fmt.Errorf("trace deletion needs a positive limit: %w", store.ErrInvalidArgument)
	}
	err := s.inWriteTx(ctx, "delete expired traces", func(tx *sql.Tx) error {
		cond, args, err := expiredCondition(ctx, tx, d)
		if err != nil || cond == "" {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM traces WHERE id IN (
				SELECT id FROM traces WHERE project_id = ? AND (`+cond+`) ORDER BY start_time, id LIMIT ?)
			RETURNING coalesce(session_rowid, 0), span_count`, append(append([]any{d.ProjectID}, args...), d.Limit)...)
		if err != nil {
			return fmt.Errorf("delete traces of project %d: %w", d.ProjectID, err)
		}
		sessions, err := scanDeleted(rows, &del)
		if err != nil {
			return fmt.Errorf("delete traces of project %d: %w", d.ProjectID, err)
		}
		s.tracesDeleted(int(del.Traces))
		if len(sessions) == 0 {
			return nil
		}
		if err := recomputeSessions(ctx, tx, sessions); err != nil {
			return err
		}
		var left int64
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE id IN (`+placeholders(len(sessions))+`)`,
			int64Args(sessions)...).Scan(&left)
		if err != nil {
			return fmt.Errorf("count sessions: %w", err)
		}
		del.Sessions = int64(len(sessions)) - left
		return nil
	})
	if err != nil {
		return store.Deleted{}, err
	}
	return del, nil
}

// expiredCondition is the SQL condition on traces that d selects, or ""
// when it selects nothing.
func expiredCondition(ctx context.Context, tx *sql.Tx, d store.TraceDeletion) (string, []any, error) {
	cond, args := "", []any{}
	if d.StartedBefore > 0 {
		cond, args = "start_time < ?", append(args, d.StartedBefore)
	}
	if d.KeepNewest > 0 {
		// The oldest trace kept; everything before it in (start_time, id)
		// order goes.
		var start, id int64
		err := tx.QueryRowContext(ctx, `SELECT start_time, id FROM traces WHERE project_id = ?
			ORDER BY start_time DESC, id DESC LIMIT 1 OFFSET ?`, d.ProjectID, d.KeepNewest-1).Scan(&start, &id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return "", nil, fmt.Errorf("find the oldest kept trace of project %d: %w", d.ProjectID, err)
		default:
			if cond != "" {
				cond += " OR "
			}
			cond += "start_time < ? OR (start_time = ? AND id < ?)"
			args = append(args, start, start, id)
		}
	}
	if d.StartedFrom != 0 && cond != "" {
		cond = "(" + cond + ") AND start_time >= ?"
		args = append(args, d.StartedFrom)
	}
	return cond, args, nil
}

// scanDeleted adds up the (session row id, span count) rows of deleted
// traces and returns the sessions they belonged to.
func scanDeleted(rows *sql.Rows, del *store.Deleted) ([]int64, error) {
	defer rows.Close()
	seen := map[int64]bool{}
	var sessions []int64
	for rows.Next() {
		var session, spans int64
		if err := rows.Scan(&session, &spans); err != nil {
			return nil, err
		}
		del.Traces++
		del.Spans += spans
		if session != 0 && !seen[session] {
			seen[session] = true
			sessions = append(sessions, session)
		}
	}
	return sessions, rows.Err()
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// StorageReport counts what each project holds from the trace roll-ups and
// shares the database file's size out by span count.
func (s *Store) StorageReport(ctx context.Context, q store.StorageQuery) (store.StorageReport, error) {
	var r store.StorageReport
	var pages, pageSize int64
	if err := s.read.QueryRowContext(ctx, `SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &pageSize); err != nil {
		return r, fmt.Errorf("read database size: %w", err)
	}
	r.DatabaseBytes = pages * pageSize
	rows, err := s.read.QueryContext(ctx, `SELECT p.id, p.name, count(t.id), coalesce(sum(t.span_count), 0)
		FROM projects p LEFT JOIN traces t ON t.project_id = p.id GROUP BY p.id ORDER BY p.id`)
	if err != nil {
		return r, fmt.Errorf("count project data: %w", err)
	}
	for rows.Next() {
		var p store.ProjectStorage
		if err := rows.Scan(&p.ProjectID, &p.Name, &p.Traces, &p.Spans); err != nil {
			rows.Close()
			return r, fmt.Errorf("count project data: %w", err)
		}
		r.Traces += p.Traces
		r.Spans += p.Spans
		r.Projects = append(r.Projects, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("count project data: %w", err)
	}
	store.EstimateBytes(&r)
	if q.Days <= 0 {
		return r, nil
	}
	days := store.Days(q.Now, q.Days)
	for i := range r.Projects {
		p := &r.Projects[i]
		rows, err := s.read.QueryContext(ctx, `SELECT start_time - start_time % ? AS day, sum(span_count) FROM traces
			WHERE project_id = ? AND start_time >= ? AND start_time < ? GROUP BY day`,
			store.Day, p.ProjectID, days[0], days[len(days)-1]+store.Day)
		if err != nil {
			return r, fmt.Errorf("count daily spans of project %d: %w", p.ProjectID, err)
		}
		if p.Daily, err = scanDaily(rows, days); err != nil {
			return r, fmt.Errorf("count daily spans of project %d: %w", p.ProjectID, err)
		}
	}
	return r, nil
}

// scanDaily places (day, spans) rows on days, which has every day of the range.
func scanDaily(rows *sql.Rows, days []int64) ([]store.DayCount, error) {
	defer rows.Close()
	out := make([]store.DayCount, len(days))
	for i, d := range days {
		out[i].Day = d
	}
	for rows.Next() {
		var day, spans int64
		if err := rows.Scan(&day, &spans); err != nil {
			return nil, err
		}
		if i := (day - days[0]) / store.Day; i >= 0 && int(i) < len(out) {
			out[i].Spans = spans
		}
	}
	return out, rows.Err()
}
