package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

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
		if _, err := tx.Exec(ctx, `UPDATE traces SET project_id = $1 WHERE trace_id = ANY($2)`, toProject, ids); err != nil {
			return fmt.Errorf("move traces: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE spans SET project_id = $1
			WHERE trace_rowid IN (SELECT id FROM traces WHERE trace_id = ANY($2))`, toProject, ids); err != nil {
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
