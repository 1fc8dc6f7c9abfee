package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// inWriteTx runs fn in a checked write transaction.
func (s *Store) inWriteTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return s.inWriteTxMode(ctx, checkedWrites, what, fn)
}

// inWriteTxMode runs fn in a write transaction in mode.
func (s *Store) inWriteTxMode(ctx context.Context, mode writeMode, what string, fn func(tx *sql.Tx) error) error {
	unlock, err := s.lockWrite(ctx, mode)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer unlock()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// CreateProject creates a project; a taken name is an ErrConflict.
func (s *Store) CreateProject(ctx context.Context, name, description string) (store.Project, error) {
	now := time.Now().UnixNano()
	err := s.inWriteTx(ctx, "create project", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO projects (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, description, now, now)
		if err != nil {
			return fmt.Errorf("create project %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("project %q already exists: %w", name, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return store.Project{}, err
	}
	return s.projectByNameOn(ctx, s.write, name)
}

func (s *Store) projectByNameOn(ctx context.Context, q queryer, name string) (store.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("project %q: %w", name, store.ErrNotFound)
	}
	return p, err
}

// UpdateProject sets a project's description.
func (s *Store) UpdateProject(ctx context.Context, id int64, description string) (store.Project, error) {
	err := s.inWriteTx(ctx, "update project", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE projects SET description = ?, updated_at = ? WHERE id = ?`, description, time.Now().UnixNano(), id)
		if err != nil {
			return fmt.Errorf("update project %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("project %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return store.Project{}, err
	}
	p, err := scanProject(s.write.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE id = ?", id))
	return p, err
}

// DeleteProject deletes a project and everything in it.
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	return s.inWriteTx(ctx, "delete project", func(tx *sql.Tx) error {
		// The name may be reused with a new id; no write may use the old one.
		s.projects.forget()
		// Spans reference their trace, not their project, so they go first
		// through the traces' cascade.
		res, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE project_id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete traces of project %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			s.tracesDeleted(int(n))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE project_id = ?`, id); err != nil {
			return fmt.Errorf("delete sessions of project %d: %w", id, err)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete project %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("project %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// DeleteTrace deletes a trace and fixes its session's roll-ups.
func (s *Store) DeleteTrace(ctx context.Context, traceID string) error {
	return s.inWriteTx(ctx, "delete trace", func(tx *sql.Tx) error {
		var rowID int64
		var session sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, session_rowid FROM traces WHERE `+traceRowIDs("id", 1), traceID).Scan(&rowID, &session)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find trace %s: %w", traceID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE id = ?`, rowID); err != nil {
			return fmt.Errorf("delete trace %s: %w", traceID, err)
		}
		s.tracesDeleted(1)
		if session.Valid {
			return recomputeSessions(ctx, tx, []int64{session.Int64})
		}
		return nil
	})
}

// TransferTraces moves traces, their spans and their sessions to another project.
func (s *Store) TransferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error) {
	if len(traceIDs) == 0 {
		return 0, nil
	}
	moved := 0
	err := s.inWriteTx(ctx, "transfer traces", func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE id = ?`, toProject).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return fmt.Errorf("project %d: %w", toProject, store.ErrNotFound)
		}
		args := make([]any, len(traceIDs))
		for i, id := range traceIDs {
			args[i] = id
		}
		byTraceID := traceRowIDs("id", len(traceIDs))
		rows, err := tx.QueryContext(ctx, `SELECT trace_id, project_id, coalesce(session_rowid, 0) FROM traces WHERE `+byTraceID, args...)
		if err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
		found := map[string]bool{}
		sources := map[int64]bool{}
		var sessions []int64
		for rows.Next() {
			var id string
			var project, session int64
			if err := rows.Scan(&id, &project, &session); err != nil {
				rows.Close()
				return err
			}
			found[id] = true
			sources[project] = true
			if session != 0 {
				sessions = append(sessions, session)
			}
		}
		rows.Close()
		var missing []string
		for _, id := range traceIDs {
			if !found[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("traces %s: %w", strings.Join(missing, ", "), store.ErrNotFound)
		}
		if len(sources) > 1 {
			return fmt.Errorf("traces come from %d projects; transfer traces of one project at a time: %w", len(sources), store.ErrInvalidArgument)
		}
		res, err := tx.ExecContext(ctx, `UPDATE traces SET project_id = ? WHERE `+byTraceID, append([]any{toProject}, args...)...)
		if err != nil {
			return fmt.Errorf("move traces: %w", err)
		}
		n, _ := res.RowsAffected()
		moved = int(n)
		if _, err := tx.ExecContext(ctx, `UPDATE spans SET project_id = ? WHERE `+traceRowIDs("trace_rowid", len(traceIDs)),
			append([]any{toProject}, args...)...); err != nil {
			return fmt.Errorf("move spans: %w", err)
		}
		// The other project's minutes hold them now (migration 0023).
		if _, err := tx.ExecContext(ctx, strings.Replace(addSpanMinutesSQL, "{cond}", traceRowIDs("trace_rowid", len(traceIDs)), 1), args...); err != nil {
			return fmt.Errorf("move spans: %w", err)
		}
		// A session follows its traces once all of them have moved.
		for _, sess := range sessions {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET project_id = ?1 WHERE id = ?2
					AND NOT EXISTS (SELECT 1 FROM traces WHERE session_rowid = ?2 AND project_id != ?1)`, toProject, sess); err != nil {
				return fmt.Errorf("move session: %w", err)
			}
		}
		return nil
	})
	return moved, err
}

// DeleteSession deletes a session and its traces.
func (s *Store) DeleteSession(ctx context.Context, sessionID string) error {
	return s.inWriteTx(ctx, "delete session", func(tx *sql.Tx) error {
		var rowID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sessions WHERE session_id = ?`, sessionID).Scan(&rowID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %q: %w", sessionID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find session %q: %w", sessionID, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE session_rowid = ?`, rowID)
		if err != nil {
			return fmt.Errorf("delete traces of session %q: %w", sessionID, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			s.tracesDeleted(int(n))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, rowID); err != nil {
			return fmt.Errorf("delete session %q: %w", sessionID, err)
		}
		return nil
	})
}

// recomputeSessions rebuilds session roll-ups from their remaining traces
// and deletes sessions left without any.
func recomputeSessions(ctx context.Context, tx *sql.Tx, ids []int64) error {
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET
				trace_count = (SELECT count(*) FROM traces WHERE session_rowid = ?1),
				start_time = coalesce((SELECT min(start_time) FROM traces WHERE session_rowid = ?1), start_time),
				end_time = coalesce((SELECT max(end_time) FROM traces WHERE session_rowid = ?1), end_time),
				prompt_tokens = (SELECT coalesce(sum(prompt_tokens), 0) FROM traces WHERE session_rowid = ?1),
				completion_tokens = (SELECT coalesce(sum(completion_tokens), 0) FROM traces WHERE session_rowid = ?1),
				total_tokens = (SELECT coalesce(sum(total_tokens), 0) FROM traces WHERE session_rowid = ?1),
				cost_total = (SELECT coalesce(sum(cost_total), 0) FROM traces WHERE session_rowid = ?1),
				unpriced_spans = (SELECT coalesce(sum(unpriced_spans), 0) FROM traces WHERE session_rowid = ?1),
				first_input = (SELECT input_preview FROM traces WHERE session_rowid = ?1 AND root_span_id IS NOT NULL ORDER BY start_time, id LIMIT 1),
				first_input_time = (SELECT start_time FROM traces WHERE session_rowid = ?1 AND root_span_id IS NOT NULL ORDER BY start_time, id LIMIT 1),
				last_output = (SELECT output_preview FROM traces WHERE session_rowid = ?1 AND root_span_id IS NOT NULL ORDER BY start_time DESC, id DESC LIMIT 1),
				last_output_time = (SELECT start_time FROM traces WHERE session_rowid = ?1 AND root_span_id IS NOT NULL ORDER BY start_time DESC, id DESC LIMIT 1)
			WHERE id = ?1`, id)
		if err != nil {
			return fmt.Errorf("recompute session %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND trace_count = 0`, id); err != nil {
			return fmt.Errorf("delete empty session %d: %w", id, err)
		}
	}
	return nil
}

// DeleteSpan deletes one span, leaving its children where they are (they
// become orphans, as in Phoenix), and recomputes its trace's roll-ups from
// the spans left; a trace left without spans is deleted, and the trace's
// session is recomputed from its traces either way.
func (s *Store) DeleteSpan(ctx context.Context, rowID int64) error {
	return s.inWriteTx(ctx, "delete span", func(tx *sql.Tx) error {
		var traceRow int64
		var spanID string
		err := tx.QueryRowContext(ctx, `DELETE FROM spans WHERE id = ? RETURNING trace_rowid, span_id`, rowID).Scan(&traceRow, &spanID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("span %d: %w", rowID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete span %d: %w", rowID, err)
		}
		var session sql.NullInt64
		var left int64
		err = tx.QueryRowContext(ctx, `SELECT session_rowid, (SELECT count(*) FROM spans WHERE trace_rowid = ?1)
			FROM traces WHERE id = ?1`, traceRow).Scan(&session, &left)
		if err != nil {
			return fmt.Errorf("read the trace of span %d: %w", rowID, err)
		}
		if left == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE id = ?`, traceRow); err != nil {
				return fmt.Errorf("delete the empty trace of span %d: %w", rowID, err)
			}
			s.tracesDeleted(1)
		} else {
			// The span's trace moves in trace_minutes by what it loses.
			err := retallyTraceMinutes(ctx, tx, "id = ?", []any{traceRow}, func() error {
				return recomputeTrace(ctx, tx, traceRow, spanID)
			})
			if err != nil {
				return err
			}
			// Its annotations keep its start time (migration 0021).
			if _, err := tx.ExecContext(ctx, moveTraceAnnotationsSQL, fmt.Sprintf("[%d]", traceRow)); err != nil {
				return fmt.Errorf("move the annotations of trace %d: %w", traceRow, err)
			}
		}
		if session.Valid {
			return recomputeSessions(ctx, tx, []int64{session.Int64})
		}
		return nil
	})
}

// recomputeTrace rebuilds a trace's roll-ups from its spans after the span
// deletedSpan left it: the sums the writer keeps over LLM spans
// (traceState.add), which must stay in step with it. The trace keeps its
// user unless none of its spans names that user any more, and its root
// unless the root was the span deleted.
func recomputeTrace(ctx context.Context, tx *sql.Tx, id int64, deletedSpan string) error {
	_, err := tx.ExecContext(ctx, `UPDATE traces SET
			start_time = a.lo, end_time = a.hi, span_count = a.n, error_count = a.errors, llm_span_count = a.llms,
			prompt_tokens = a.p, completion_tokens = a.c, total_tokens = a.t,
			cache_read_tokens = a.cr, cache_write_tokens = a.cw, reasoning_tokens = a.r,
			cost_total = a.cost, cost_prompt = a.cp, cost_completion = a.cc, unpriced_spans = a.unpriced
		FROM (SELECT min(start_time) AS lo, max(end_time) AS hi, count(*) AS n,
				coalesce(sum(status_code = 'ERROR'), 0) AS errors, coalesce(sum(span_kind = 'LLM'), 0) AS llms,
				coalesce(sum(iif(span_kind = 'LLM', prompt_tokens, 0)), 0) AS p,
				coalesce(sum(iif(span_kind = 'LLM', completion_tokens, 0)), 0) AS c,
				coalesce(sum(iif(span_kind = 'LLM', total_tokens, 0)), 0) AS t,
				coalesce(sum(iif(span_kind = 'LLM', cache_read_tokens, 0)), 0) AS cr,
				coalesce(sum(iif(span_kind = 'LLM', cache_write_tokens, 0)), 0) AS cw,
				coalesce(sum(iif(span_kind = 'LLM', reasoning_tokens, 0)), 0) AS r,
				coalesce(sum(iif(span_kind = 'LLM' AND cost_status = 'priced', cost_total, 0)), 0) AS cost,
				coalesce(sum(iif(span_kind = 'LLM' AND cost_status = 'priced', cost_prompt, 0)), 0) AS cp,
				coalesce(sum(iif(span_kind = 'LLM' AND cost_status = 'priced', cost_completion, 0)), 0) AS cc,
				coalesce(sum(span_kind = 'LLM' AND cost_status = 'no_price'), 0) AS unpriced
			FROM spans WHERE trace_rowid = ?1) AS a
		WHERE traces.id = ?1`, id)
	if err != nil {
		return fmt.Errorf("recompute trace %d: %w", id, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE traces SET user_id = (SELECT user_id FROM spans
			WHERE trace_rowid = ?1 AND user_id IS NOT NULL ORDER BY start_time, id LIMIT 1)
		WHERE id = ?1 AND user_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM spans WHERE trace_rowid = ?1 AND user_id = traces.user_id)`, id)
	if err != nil {
		return fmt.Errorf("recompute the user of trace %d: %w", id, err)
	}
	var root sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT root_span_id FROM traces WHERE id = ?`, id).Scan(&root); err != nil {
		return fmt.Errorf("read the root of trace %d: %w", id, err)
	}
	if root.String != deletedSpan {
		return nil
	}
	// Another span without a parent, if the trace has one, is its root now.
	var r traceRoot
	var input, output, inPreview, outPreview sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT span_id, name, span_kind, status_code, input_value, output_value,
		input_preview, output_preview FROM spans
		WHERE trace_rowid = ? AND parent_id IS NULL ORDER BY start_time, id LIMIT 1`, id).
		Scan(&r.spanID, &r.name, &r.kind, &r.status, &input, &output, &inPreview, &outPreview)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("find the new root of trace %d: %w", id, err)
	default:
		r.input = optional(span.ReadPreview(inPreview.String, inPreview.Valid, input.String))
		r.output = optional(span.ReadPreview(outPreview.String, outPreview.Valid, output.String))
	}
	_, err = tx.ExecContext(ctx, `UPDATE traces SET root_span_id = ?, root_name = ?, root_kind = ?, root_status = ?,
		input_preview = ?, output_preview = ? WHERE id = ?`, r.spanID, r.name, r.kind, r.status, r.input, r.output, id)
	if err != nil {
		return fmt.Errorf("set the root of trace %d: %w", id, err)
	}
	return nil
}
