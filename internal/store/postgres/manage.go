package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// CreateProject creates a project; a taken name is an ErrConflict.
func (s *Store) CreateProject(ctx context.Context, name, description string) (store.Project, error) {
	now := nowNanos()
	rows, err := s.pool.Query(ctx, `INSERT INTO projects (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (name) DO NOTHING RETURNING `+projectColumns, text(name), text(description), now)
	if err != nil {
		return store.Project{}, fmt.Errorf("create project %q: %w", name, err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanProjectRow)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("project %q already exists: %w", name, store.ErrConflict)
	}
	if err != nil {
		return p, fmt.Errorf("create project %q: %w", name, err)
	}
	return p, nil
}

func scanProjectRow(row pgx.CollectableRow) (store.Project, error) { return scanProject(row) }

// UpdateProject sets a project's description.
func (s *Store) UpdateProject(ctx context.Context, id int64, description string) (store.Project, error) {
	rows, err := s.pool.Query(ctx, `UPDATE projects SET description = $1, updated_at = $2 WHERE id = $3 RETURNING `+projectColumns,
		text(description), nowNanos(), id)
	if err != nil {
		return store.Project{}, fmt.Errorf("update project %d: %w", id, err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanProjectRow)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("project %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("update project %d: %w", id, err)
	}
	return p, nil
}

// DeleteProject deletes a project and, through the foreign keys' cascades,
// everything in it.
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
	// The name may be reused with a new id; no write may use the old one.
	// Other servers find out when a write names the old id.
	s.projects.forget()
	if err != nil {
		return fmt.Errorf("delete project %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("project %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteTrace deletes a trace and fixes its session's roll-ups.
func (s *Store) DeleteTrace(ctx context.Context, traceID string) error {
	return s.inTx(ctx, "delete trace "+traceID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM traces WHERE trace_id = $1 RETURNING coalesce(session_rowid, 0)`, text(traceID))
		if err != nil {
			return err
		}
		session, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
		}
		if err != nil || session == 0 {
			return err
		}
		_, err = recomputeSessions(ctx, tx, []int64{session})
		return err
	})
}

// TransferTraces moves traces, their spans and their sessions to another project.
func (s *Store) TransferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error) {
	if len(traceIDs) == 0 {
		return 0, nil
	}
	ids := texts(traceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	err := s.inTx(ctx, "transfer traces", func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)`, toProject).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("project %d: %w", toProject, store.ErrNotFound)
		}
		rows, err := tx.Query(ctx, `SELECT trace_id, project_id, coalesce(session_rowid, 0) FROM traces
			WHERE trace_id = ANY($1) ORDER BY trace_id FOR UPDATE`, ids)
		if err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
		found := map[string]bool{}
		sources := map[int64]bool{}
		var sessions []int64
		var id string
		var project, session int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &project, &session}, func() error {
			found[id] = true
			sources[project] = true
			if session != 0 {
				sessions = append(sessions, session)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
		var missing []string
		for _, id := range ids {
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
		err = retallyTraceMinutes(ctx, tx, "trace_id = ANY($1)", []any{ids}, func() error {
			if _, err := tx.Exec(ctx, `UPDATE traces SET project_id = $1 WHERE trace_id = ANY($2)`, toProject, ids); err != nil {
				return fmt.Errorf("move traces: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE spans SET project_id = $1
			WHERE trace_rowid IN (SELECT id FROM traces WHERE trace_id = ANY($2))`, toProject, ids); err != nil {
			return fmt.Errorf("move spans: %w", err)
		}
		if _, err := tx.Exec(ctx, strings.Replace(addSpanMinutesSQL, "{cond}",
			"trace_rowid IN (SELECT id FROM traces WHERE trace_id = ANY($1))", 1), ids); err != nil {
			return fmt.Errorf("move spans: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET project_id = $1 WHERE id = ANY($2)`, toProject, sessions); err != nil {
			return fmt.Errorf("move sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// DeleteSession deletes a session and its traces.
func (s *Store) DeleteSession(ctx context.Context, sessionID string) error {
	return s.inTx(ctx, "delete session", func(tx pgx.Tx) error {
		var rowID int64
		err := tx.QueryRow(ctx, `SELECT id FROM sessions WHERE session_id = $1 FOR UPDATE`, text(sessionID)).Scan(&rowID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("session %q: %w", sessionID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find session %q: %w", sessionID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM traces WHERE session_rowid = $1`, rowID); err != nil {
			return fmt.Errorf("delete traces of session %q: %w", sessionID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, rowID); err != nil {
			return fmt.Errorf("delete session %q: %w", sessionID, err)
		}
		return nil
	})
}

// sessionRecompute rebuilds a session's roll-ups from the traces it has left.
const sessionRecompute = `UPDATE sessions s SET
		trace_count = a.n, start_time = coalesce(a.lo, s.start_time), end_time = coalesce(a.hi, s.end_time),
		prompt_tokens = a.p, completion_tokens = a.c, total_tokens = a.t, cost_total = a.cost, unpriced_spans = a.unpriced,
		first_input = f.input_preview, first_input_time = f.start_time,
		last_output = l.output_preview, last_output_time = l.start_time
	FROM (SELECT count(*) AS n, min(start_time) AS lo, max(end_time) AS hi, coalesce(sum(prompt_tokens), 0) AS p,
			coalesce(sum(completion_tokens), 0) AS c, coalesce(sum(total_tokens), 0) AS t,
			coalesce(sum(cost_total), 0) AS cost, coalesce(sum(unpriced_spans), 0) AS unpriced
		FROM traces WHERE session_rowid = $1) a
	LEFT JOIN (SELECT input_preview, start_time FROM traces WHERE session_rowid = $1 AND root_span_id IS NOT NULL
		ORDER BY start_time, id LIMIT 1) f ON true
	LEFT JOIN (SELECT output_preview, start_time FROM traces WHERE session_rowid = $1 AND root_span_id IS NOT NULL
		ORDER BY start_time DESC, id DESC LIMIT 1) l ON true
	WHERE s.id = $1`

// recomputeSessions rebuilds the roll-ups of sessions that lost traces and
// deletes those left without any; it reports how many it deleted. Sessions
// are locked in session id order, as writers lock them.
func recomputeSessions(ctx context.Context, tx pgx.Tx, ids []int64) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM sessions WHERE id = ANY($1) ORDER BY session_id FOR UPDATE`, ids)
	if err != nil {
		return 0, fmt.Errorf("lock sessions: %w", err)
	}
	locked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("lock sessions: %w", err)
	}
	b := &pgx.Batch{}
	for _, id := range locked {
		b.Queue(sessionRecompute, id)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("recompute sessions: %w", err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = ANY($1) AND trace_count = 0`, locked)
	if err != nil {
		return 0, fmt.Errorf("delete empty sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteSpan deletes one span, leaving its children where they are (they
// become orphans, as in Phoenix), and recomputes its trace's roll-ups from
// the spans left; a trace left without spans is deleted, and the trace's
// session is recomputed from its traces either way. The trace is locked
// first, as writers lock it, so no write adds to it between the delete and
// the recompute.
func (s *Store) DeleteSpan(ctx context.Context, rowID int64) error {
	return s.inTx(ctx, fmt.Sprintf("delete span %d", rowID), func(tx pgx.Tx) error {
		var traceRow, session int64
		err := tx.QueryRow(ctx, `SELECT t.id, coalesce(t.session_rowid, 0) FROM traces t
			WHERE t.id = (SELECT trace_rowid FROM spans WHERE id = $1) FOR UPDATE`, rowID).Scan(&traceRow, &session)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("span %d: %w", rowID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock the trace of span %d: %w", rowID, err)
		}
		var spanID string
		err = tx.QueryRow(ctx, `DELETE FROM spans WHERE id = $1 AND trace_rowid = $2 RETURNING span_id`, rowID, traceRow).Scan(&spanID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("span %d: %w", rowID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete span %d: %w", rowID, err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM traces t WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM spans WHERE trace_rowid = $1)`, traceRow)
		if err != nil {
			return fmt.Errorf("delete the empty trace of span %d: %w", rowID, err)
		}
		if tag.RowsAffected() == 0 {
			err := retallyTraceMinutes(ctx, tx, "id = $1", []any{traceRow}, func() error {
				return recomputeTrace(ctx, tx, traceRow, spanID)
			})
			if err != nil {
				return err
			}
		}
		if session != 0 {
			_, err = recomputeSessions(ctx, tx, []int64{session})
		}
		return err
	})
}

// recomputeTrace rebuilds a locked trace's roll-ups from its spans after
// the span deletedSpan left it: the sums the writer keeps over LLM spans
// (batchWriter.account), which must stay in step with it. The trace keeps
// its user unless none of its spans names that user any more, and its root
// unless the root was the span deleted.
func recomputeTrace(ctx context.Context, tx pgx.Tx, id int64, deletedSpan string) error {
	_, err := tx.Exec(ctx, `UPDATE traces SET
			start_time = a.lo, end_time = a.hi, span_count = a.n, error_count = a.errors, llm_span_count = a.llms,
			prompt_tokens = a.p, completion_tokens = a.c, total_tokens = a.t,
			cache_read_tokens = a.cr, cache_write_tokens = a.cw, reasoning_tokens = a.r,
			cost_total = a.cost, cost_prompt = a.cp, cost_completion = a.cc, unpriced_spans = a.unpriced
		FROM (SELECT min(start_time) AS lo, max(end_time) AS hi, count(*) AS n,
				count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
				count(*) FILTER (WHERE span_kind = 'LLM') AS llms,
				coalesce(sum(prompt_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS p,
				coalesce(sum(completion_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS c,
				coalesce(sum(total_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS t,
				coalesce(sum(cache_read_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS cr,
				coalesce(sum(cache_write_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS cw,
				coalesce(sum(reasoning_tokens) FILTER (WHERE span_kind = 'LLM'), 0) AS r,
				coalesce(sum(cost_total) FILTER (WHERE span_kind = 'LLM' AND cost_status = 'priced'), 0) AS cost,
				coalesce(sum(cost_prompt) FILTER (WHERE span_kind = 'LLM' AND cost_status = 'priced'), 0) AS cp,
				coalesce(sum(cost_completion) FILTER (WHERE span_kind = 'LLM' AND cost_status = 'priced'), 0) AS cc,
				count(*) FILTER (WHERE span_kind = 'LLM' AND cost_status = 'no_price') AS unpriced
			FROM spans WHERE trace_rowid = $1) AS a
		WHERE traces.id = $1`, id)
	if err != nil {
		return fmt.Errorf("recompute trace %d: %w", id, err)
	}
	_, err = tx.Exec(ctx, `UPDATE traces t SET user_id = (SELECT user_id FROM spans
			WHERE trace_rowid = $1 AND user_id IS NOT NULL ORDER BY start_time, id LIMIT 1)
		WHERE t.id = $1 AND t.user_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM spans WHERE trace_rowid = $1 AND user_id = t.user_id)`, id)
	if err != nil {
		return fmt.Errorf("recompute the user of trace %d: %w", id, err)
	}
	var root pgtype.Text
	if err := tx.QueryRow(ctx, `SELECT root_span_id FROM traces WHERE id = $1`, id).Scan(&root); err != nil {
		return fmt.Errorf("read the root of trace %d: %w", id, err)
	}
	if root.String != deletedSpan {
		return nil
	}
	// Another span without a parent, if the trace has one, is its root now.
	var spanID, name, kind, status, input, output, inPreview, outPreview pgtype.Text
	err = tx.QueryRow(ctx, `SELECT span_id, name, span_kind, status_code, input_value, output_value,
		input_preview, output_preview FROM spans
		WHERE trace_rowid = $1 AND parent_id IS NULL ORDER BY start_time, id LIMIT 1`, id).
		Scan(&spanID, &name, &kind, &status, &input, &output, &inPreview, &outPreview)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("find the new root of trace %d: %w", id, err)
	}
	if spanID.Valid {
		input = nullText(span.ReadPreview(inPreview.String, inPreview.Valid, input.String))
		output = nullText(span.ReadPreview(outPreview.String, outPreview.Valid, output.String))
	}
	_, err = tx.Exec(ctx, `UPDATE traces SET root_span_id = $1, root_name = $2, root_kind = $3, root_status = $4,
		input_preview = $5, output_preview = $6 WHERE id = $7`, spanID, name, kind, status, input, output, id)
	if err != nil {
		return fmt.Errorf("set the root of trace %d: %w", id, err)
	}
	return nil
}
