package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Deletes and moves. The rows of a trace (spans, span states, roll-up
// states, the trace's row) share a shard and go with lightweight DELETE,
// which masks them at once and frees them at the next merge; the trace's
// row goes last, so a delete cut short is found and finished by the next.
// Versioned rows that other rows point at (sessions, annotations,
// projects) are written again deleted, or moved, with a higher version.
// What a user counts follows at once: trace_stats of a trace that loses a
// span is rebuilt from the spans it keeps, sessions are recomputed from
// the traces they keep, and sums are read from the spans.

// execLocal runs a statement that names tables with {name} placeholders
// (a lightweight DELETE, which a Distributed table does not take) against
// the rows themselves: on one node as written, on a cluster on every node's
// local tables. Subqueries in it must read tables sharded like the one it
// changes.
func (s *Store) execLocal(ctx context.Context, stmt string, args ...any) error {
	stmt = s.localNames(stmt)
	if s.cluster == "" {
		return s.conn.Exec(ctx, stmt, args...)
	}
	conns, done, err := s.nodes(ctx, s.opts)
	if err != nil {
		return err
	}
	defer done()
	for _, c := range conns {
		if err := c.Exec(ctx, stmt, args...); err != nil {
			return err
		}
	}
	return nil
}

var deletable = []string{"spans", "span_states", "trace_stats", "traces", "sessions", "annotations"}

func (s *Store) localNames(stmt string) string {
	for _, t := range deletable {
		stmt = strings.ReplaceAll(stmt, "{"+t+"}", s.local(t))
	}
	return stmt
}

// deleteAnnotations writes a deleted version of the annotations cond
// selects (a condition on the annotations table's own columns).
func (s *Store) deleteAnnotations(ctx context.Context, cond string, args ...any) error {
	err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO annotations SELECT * REPLACE ({v:Int64} AS version, 1 AS is_deleted) FROM annotations FINAL WHERE "+cond,
		append(args, ch.Named("v", nowNanos()))...)
	if err != nil {
		return fmt.Errorf("delete annotations: %w", err)
	}
	return nil
}

type traceRef struct{ id, session int64 }

// deleteTraces deletes traces with their spans, roll-ups and annotations,
// recomputes the sessions they leave, deleting those left empty, and
// reports what it deleted.
func (s *Store) deleteTraces(ctx context.Context, refs []traceRef) (store.Deleted, error) {
	var del store.Deleted
	if len(refs) == 0 {
		return del, nil
	}
	ids := make([]int64, len(refs))
	var sessions []int64
	for i, r := range refs {
		ids[i] = r.id
		if r.session != 0 && !slices.Contains(sessions, r.session) {
			sessions = append(sessions, r.session)
		}
	}
	idArg := ch.Named("ids", ids)
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT id FROM spans WHERE trace_rowid IN {ids:Array(Int64)}", idArg)
	if err != nil {
		return del, fmt.Errorf("find the spans of %d traces: %w", len(ids), err)
	}
	var spanIDs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return del, err
		}
		spanIDs = append(spanIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return del, err
	}
	del.Traces, del.Spans = int64(len(ids)), int64(len(spanIDs))
	if err := s.deleteAnnotations(ctx, "(kind = 'trace' AND entity_rowid IN {ids:Array(Int64)}) OR "+
		"(kind IN ('span', 'document') AND entity_rowid IN {spans:Array(Int64)})", idArg, ch.Named("spans", spanIDs)); err != nil {
		return del, err
	}
	for _, t := range []string{"spans", "span_states", "trace_stats"} {
		if err := s.execLocal(ctx, "DELETE FROM {"+t+"} WHERE trace_rowid IN {ids:Array(Int64)}", idArg); err != nil {
			return del, fmt.Errorf("delete %s of %d traces: %w", t, len(ids), err)
		}
	}
	if err := s.execLocal(ctx, "DELETE FROM {traces} WHERE id IN {ids:Array(Int64)}", idArg); err != nil {
		return del, fmt.Errorf("delete %d traces: %w", len(ids), err)
	}
	del.Sessions, err = s.recomputeSessions(ctx, sessions)
	return del, err
}

// recomputeSessions writes again the rows of sessions that lost traces,
// their first input and last output taken from the traces they keep, and
// deletes (with their annotations) those left without traces; it reports
// how many it deleted.
func (s *Store) recomputeSessions(ctx context.Context, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	type turn struct {
		start, id     int64
		root          bool
		input, output string
	}
	turns := map[int64][]turn{}
	rows, err := s.conn.Query(ctx, "SELECT session_rowid, start_time, id, root_span_id != '', input_preview, output_preview FROM ("+
		traceRows("session_rowid IN {ids:Array(Int64)}")+") ORDER BY start_time, id", ch.Named("ids", ids))
	if err != nil {
		return 0, fmt.Errorf("read the traces of %d sessions: %w", len(ids), err)
	}
	for rows.Next() {
		var sid int64
		var t turn
		if err := rows.Scan(&sid, &t.start, &t.id, &t.root, &t.input, &t.output); err != nil {
			rows.Close()
			return 0, err
		}
		turns[sid] = append(turns[sid], t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var empty []int64
	now := nowNanos()
	for _, id := range ids {
		ts := turns[id]
		if len(ts) == 0 {
			empty = append(empty, id)
			continue
		}
		var fi, lo *string
		var fiAt, loAt *int64
		for i := range ts {
			if t := ts[i]; t.root && fi == nil {
				fi, fiAt = &t.input, &t.start
			}
			if t := ts[len(ts)-1-i]; t.root && lo == nil {
				lo, loAt = &t.output, &t.start
			}
		}
		err := s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO sessions SELECT id, session_id, project_id, user_id,
			{fi:Nullable(String)}, {fit:Nullable(Int64)}, {lo:Nullable(String)}, {lot:Nullable(Int64)}, {v:Int64}, 0
			FROM sessions FINAL WHERE id = {id:Int64}`, ch.Named("fi", fi), ch.Named("fit", fiAt), ch.Named("lo", lo),
			ch.Named("lot", loAt), ch.Named("v", now), ch.Named("id", id))
		if err != nil {
			return 0, fmt.Errorf("recompute session %d: %w", id, err)
		}
	}
	if len(empty) == 0 {
		return 0, nil
	}
	var n int64
	if err := s.conn.QueryRow(ctx, "SELECT toInt64(count()) FROM sessions FINAL WHERE id IN {ids:Array(Int64)}",
		ch.Named("ids", empty)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count empty sessions: %w", err)
	}
	err = s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO sessions SELECT * REPLACE ({v:Int64} AS version, 1 AS is_deleted) FROM sessions FINAL WHERE id IN {ids:Array(Int64)}",
		ch.Named("v", now), ch.Named("ids", empty))
	if err != nil {
		return 0, fmt.Errorf("delete empty sessions: %w", err)
	}
	if err := s.deleteAnnotations(ctx, "kind = 'session' AND entity_rowid IN {ids:Array(Int64)}", ch.Named("ids", empty)); err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteTrace deletes a trace with its spans and annotations.
func (s *Store) DeleteTrace(ctx context.Context, traceID string) error {
	t, err := s.TraceInfo(ctx, traceID)
	if err != nil {
		return err
	}
	if _, err := s.deleteTraces(ctx, []traceRef{{t.RowID, t.SessionRowID}}); err != nil {
		return classify(ctx, fmt.Errorf("delete trace %s: %w", traceID, err))
	}
	return nil
}

// DeleteSession deletes a session and its traces.
func (s *Store) DeleteSession(ctx context.Context, sessionID string) error {
	se, err := s.Session(ctx, sessionID)
	if err != nil {
		return err
	}
	ts, err := s.queryTraces(ctx, traceStatsOf("session_rowid = {s:Int64}", false), "", false, ch.Named("s", se.RowID))
	if err != nil {
		return err
	}
	refs := []traceRef{}
	for _, t := range ts {
		refs = append(refs, traceRef{t.RowID, se.RowID})
	}
	if len(refs) == 0 {
		_, err = s.recomputeSessions(ctx, []int64{se.RowID})
	} else {
		_, err = s.deleteTraces(ctx, refs)
	}
	if err != nil {
		return classify(ctx, fmt.Errorf("delete session %q: %w", sessionID, err))
	}
	return nil
}

// DeleteTraces deletes one bounded batch of a project's oldest traces among
// those d selects.
func (s *Store) DeleteTraces(ctx context.Context, d store.TraceDeletion) (store.Deleted, error) {
	if d.Limit <= 0 {
		return store.Deleted{}, fmt.Errorf("trace deletion needs a positive limit: %w", store.ErrInvalidArgument)
	}
	var outer where
	outer.args = []any{ch.Named("p", d.ProjectID)}
	var conds []string
	if d.StartedBefore > 0 {
		conds = append(conds, "start_time < "+outer.arg("Int64", d.StartedBefore))
	}
	if d.KeepNewest > 0 {
		// The oldest trace kept; everything before it in the trace list's
		// (start_time, id) order goes.
		rows, err := s.conn.Query(ctx, "SELECT start_time, id FROM ("+traceRows("project_id = {p:Int64}")+
			") ORDER BY start_time DESC, id DESC LIMIT 1 OFFSET {k:Int64}", ch.Named("p", d.ProjectID), ch.Named("k", d.KeepNewest-1))
		if err != nil {
			return store.Deleted{}, classify(ctx, fmt.Errorf("find the oldest kept trace: %w", err))
		}
		var start, id int64
		found := rows.Next()
		if found {
			err = rows.Scan(&start, &id)
		}
		rows.Close()
		if err != nil {
			return store.Deleted{}, err
		}
		if found {
			conds = append(conds, "(start_time, id) < ("+outer.arg("Int64", start)+", "+outer.arg("Int64", id)+")")
		}
	}
	if len(conds) == 0 {
		return store.Deleted{}, nil
	}
	cond := "(" + conds[0]
	for _, c := range conds[1:] {
		cond += " OR " + c
	}
	outer.add(cond + ")")
	if d.StartedFrom != 0 {
		outer.add("start_time >= " + outer.arg("Int64", d.StartedFrom))
	}
	rows, err := s.conn.Query(ctx, "SELECT id, session_rowid FROM ("+traceRows("project_id = {p:Int64}")+")"+outer.clause()+
		" ORDER BY start_time, id LIMIT "+strconv.Itoa(d.Limit), outer.args...)
	if err != nil {
		return store.Deleted{}, classify(ctx, fmt.Errorf("find expired traces of project %d: %w", d.ProjectID, err))
	}
	var refs []traceRef
	for rows.Next() {
		var r traceRef
		if err := rows.Scan(&r.id, &r.session); err != nil {
			rows.Close()
			return store.Deleted{}, err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Deleted{}, classify(ctx, err)
	}
	del, err := s.deleteTraces(ctx, refs)
	if err != nil {
		return store.Deleted{}, classify(ctx, fmt.Errorf("delete expired traces of project %d: %w", d.ProjectID, err))
	}
	return del, nil
}

// DeleteSpan deletes one span, leaving its children as orphans, and
// rebuilds what its trace and session add up to from what is left; the
// last span takes its trace with it.
func (s *Store) DeleteSpan(ctx context.Context, rowID int64) error {
	if err := s.deleteSpan(ctx, rowID); err != nil {
		return classify(ctx, fmt.Errorf("delete span %d: %w", rowID, err))
	}
	return nil
}

func (s *Store) deleteSpan(ctx context.Context, rowID int64) error {
	var traceRow int64
	var spanID string
	rows, err := s.conn.Query(ctx, "SELECT trace_rowid, span_id FROM spans FINAL WHERE id = {id:Int64} LIMIT 1", ch.Named("id", rowID))
	if err != nil {
		return err
	}
	found := rows.Next()
	if found {
		err = rows.Scan(&traceRow, &spanID)
	}
	rows.Close()
	if err != nil {
		return err
	}
	if !found {
		return store.ErrNotFound
	}
	t, err := s.TraceByRowID(ctx, traceRow)
	if err != nil {
		return err
	}
	if t.SpanCount <= 1 {
		_, err := s.deleteTraces(ctx, []traceRef{{traceRow, t.SessionRowID}})
		return err
	}
	args := []any{ch.Named("t", traceRow), ch.Named("id", rowID)}
	if err := s.deleteAnnotations(ctx, "kind IN ('span', 'document') AND entity_rowid = {id:Int64}", args[1]); err != nil {
		return err
	}
	for _, tbl := range []string{"spans", "span_states"} {
		if err := s.execLocal(ctx, "DELETE FROM {"+tbl+"} WHERE trace_rowid = {t:Int64} AND id = {id:Int64}", args...); err != nil {
			return err
		}
	}
	if err := s.rebuildTrace(ctx, traceRow, spanID == t.RootSpanID); err != nil {
		return err
	}
	if t.SessionRowID != 0 {
		_, err = s.recomputeSessions(ctx, []int64{t.SessionRowID})
	}
	return err
}

// rebuildTrace rebuilds a trace's roll-up states from the spans it keeps,
// and its row: its user unless no span names that user any more, its root
// anew when the root was deleted.
func (s *Store) rebuildTrace(ctx context.Context, id int64, rootGone bool) error {
	arg := ch.Named("t", id)
	if err := s.execLocal(ctx, "DELETE FROM {trace_stats} WHERE trace_rowid = {t:Int64}", arg); err != nil {
		return err
	}
	// States are idempotent: a span stored between the delete and this
	// insert is counted once, by the view and by this.
	err := s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO trace_stats (trace_rowid, start_time, end_time, spans, errors, llms)
		SELECT trace_rowid, min(start_time), max(end_time), uniqExactState(id),
			uniqExactState(if(status_code = 'ERROR', id, NULL)), uniqExactState(if(span_kind = 'LLM', id, NULL))
		FROM spans FINAL WHERE trace_rowid = {t:Int64} GROUP BY trace_rowid`, arg)
	if err != nil {
		return fmt.Errorf("rebuild the roll-ups of trace %d: %w", id, err)
	}
	type spanRow struct {
		spanID, name, kind, status, user, inPreview, outPreview string
		hasParent, inSet, outSet                                bool
		in, out                                                 *string
	}
	rows, err := s.conn.Query(ctx, `SELECT span_id, name, span_kind, status_code, ifNull(user_id, ''), parent_id IS NOT NULL,
		ifNull(input_preview, ''), input_preview IS NOT NULL, ifNull(output_preview, ''), output_preview IS NOT NULL, input_value, output_value
		FROM spans FINAL WHERE trace_rowid = {t:Int64} ORDER BY start_time, id`, arg)
	if err != nil {
		return fmt.Errorf("read the spans of trace %d: %w", id, err)
	}
	var spans []spanRow
	for rows.Next() {
		var r spanRow
		if err := rows.Scan(&r.spanID, &r.name, &r.kind, &r.status, &r.user, &r.hasParent, &r.inPreview, &r.inSet,
			&r.outPreview, &r.outSet, &r.in, &r.out); err != nil {
			rows.Close()
			return err
		}
		spans = append(spans, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var cur traceState
	rows, err = s.conn.Query(ctx, `SELECT trace_id, project_id, session_rowid, session_id, ifNull(user_id, ''),
			root_span_id IS NOT NULL, ifNull(root_span_id, ''), ifNull(root_name, ''), ifNull(root_kind, ''), ifNull(root_status, ''),
			ifNull(input_preview, ''), ifNull(output_preview, '')
		FROM traces FINAL WHERE id = {t:Int64}`, arg)
	if err != nil {
		return fmt.Errorf("read trace %d: %w", id, err)
	}
	found := rows.Next()
	if found {
		err = rows.Scan(&cur.traceID, &cur.projectID, &cur.session, &cur.sessionKey, &cur.user, &cur.hadRoot,
			&cur.root[0], &cur.root[1], &cur.root[2], &cur.root[3], &cur.input, &cur.output)
	}
	rows.Close()
	if err != nil || !found {
		return err
	}
	changed := false
	if cur.user != "" && !slices.ContainsFunc(spans, func(r spanRow) bool { return r.user == cur.user }) {
		cur.user, changed = "", true
		for _, r := range spans {
			if r.user != "" {
				cur.user = r.user
				break
			}
		}
	}
	if rootGone {
		changed = true
		cur.hadRoot = false
		for _, r := range spans {
			if !r.hasParent {
				cur.hadRoot = true
				cur.root = [4]string{r.spanID, r.name, r.kind, r.status}
				cur.input = span.ReadPreview(r.inPreview, r.inSet, deref(r.in))
				cur.output = span.ReadPreview(r.outPreview, r.outSet, deref(r.out))
				break
			}
		}
	}
	if !changed {
		return nil
	}
	// A row that knows less (no root now) must replace one that knew more,
	// which its version alone would not do: the old versions go first.
	if err := s.execLocal(ctx, "DELETE FROM {traces} WHERE id = {t:Int64}", arg); err != nil {
		return err
	}
	var root [4]*string
	var in, out *string
	if cur.hadRoot {
		for i := range cur.root {
			v := cur.root[i]
			root[i] = &v
		}
		in, out = nullStr(cur.input), nullStr(cur.output)
	}
	var start int64
	if err := s.conn.QueryRow(ctx, "SELECT min(start_time) FROM trace_stats WHERE trace_rowid = {t:Int64}", arg).Scan(&start); err != nil {
		return err
	}
	version := traceVersion(nowNanos(), cur.hadRoot, cur.session != 0, cur.user != "")
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO traces")
	if err != nil {
		return err
	}
	if err := batch.Append(id, cur.traceID, cur.projectID, cur.session, cur.sessionKey, start, nullStr(cur.user),
		root[0], root[1], root[2], root[3], in, out, version, uint8(0)); err != nil {
		return err
	}
	return batch.Send()
}
