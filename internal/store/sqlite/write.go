package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// spanColumns are written by one multi-row INSERT; their order matches spanArgs.
var spanColumns = [...]string{
	"trace_rowid", "project_id", "span_id", "parent_id", "name", "span_kind", "start_time", "end_time",
	"status_code", "status_message", "model_name", "provider", "session_id", "user_id",
	"input_value", "input_mime_type", "output_value", "output_mime_type", "input_preview", "output_preview",
	"prompt_tokens", "completion_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
	"reasoning_tokens", "attributes", "events", "links", "otel_kind", "trace_state", "origin_id",
	"cost_status", "cost_total", "cost_prompt", "cost_completion", "cost_details", "cost_source", "cost_entry",
	"call_state", "error_group", "prompt_version",
}

// rowsPerInsert keeps a statement under SQLite's bound-parameter limit while
// amortising the per-statement cost across many spans.
const rowsPerInsert = 32

// WriteSpans stores spans and their roll-ups in one transaction, durable
// on return.
func (s *Store) WriteSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	res, err := s.CommitSpans(ctx, spans)
	if err != nil {
		return res, err
	}
	return res, s.Sync(ctx)
}

// CommitSpans stores spans like WriteSpans, returning before the commit is
// on disk; Sync makes it durable (wal.go).
func (s *Store) CommitSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	if len(spans) == 0 {
		return store.WriteResult{}, nil
	}
	res, err := s.writeSpans(ctx, spans)
	if err != nil {
		return store.WriteResult{}, err
	}
	s.ckpt.committed()
	return res, nil
}

// Sync makes every commit so far durable. Its failures are the system's,
// classified here: SQLite's connections do not see them.
func (s *Store) Sync(context.Context) error {
	if err := s.wal.sync(); err != nil {
		return classify(fmt.Errorf("make spans durable: %w", err))
	}
	return nil
}

func (s *Store) writeSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	unlock, err := s.lockWrite(ctx, ingestWrites)
	if err != nil {
		return store.WriteResult{}, err
	}
	defer unlock()
	res, written, err := s.writeTx(ctx, spans, nil)
	if err != nil || written {
		return res, err
	}
	// Some spans were stored by an earlier request: write the batch again
	// without them, so that no roll-up counts a span twice.
	stored, err := s.storedSpans(ctx, spans)
	if err != nil {
		return store.WriteResult{}, err
	}
	res, written, err = s.writeTx(ctx, spans, stored)
	if err != nil {
		return store.WriteResult{}, err
	}
	if !written {
		return store.WriteResult{}, errors.New("insert spans: SQLite skipped spans that are not stored")
	}
	res.Duplicates += len(stored)
	return res, nil
}

// writeTx writes the spans not in skip in one transaction. When one of them
// turns out to be stored already, it rolls the transaction back and
// reports the batch not written.
func (s *Store) writeTx(ctx context.Context, spans []span.Span, skip map[rollup.Key]struct{}) (res store.WriteResult, written bool, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.WriteResult{}, false, fmt.Errorf("begin write: %w", err)
	}
	w := &batchWriter{s: s, tx: tx, ctx: ctx, now: time.Now().UnixNano()}
	res, written, err = w.write(spans, skip)
	w.closeStatements()
	defer func() {
		if err := s.kept.keepPending(ctx); err != nil {
			s.log.Debug("keep the writer's statements", "err", err)
		}
	}()
	if err != nil || !written {
		tx.Rollback()
		return store.WriteResult{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return store.WriteResult{}, false, fmt.Errorf("commit %d spans: %w", len(spans), err)
	}
	// Only committed projects and traces are remembered: a rolled-back id
	// would be reused.
	for name, id := range w.newProjects {
		s.projects.put(name, id)
	}
	for _, t := range w.traces {
		if t.fresh {
			s.known.add(t.traceID)
		}
		s.known.remember(t.traceID, t.id)
	}
	return res, true, nil
}

// storedSpans finds which of spans are already in the database, in their
// trace: a span of another trace may have the same id.
func (s *Store) storedSpans(ctx context.Context, spans []span.Span) (map[rollup.Key]struct{}, error) {
	unique, _ := rollup.Unique(spans)
	batch := make(map[rollup.Key]bool, len(unique))
	ids := make([]any, len(unique))
	for i, sp := range unique {
		batch[rollup.KeyOf(sp)] = true
		ids[i] = sp.SpanID
	}
	stored := make(map[rollup.Key]struct{})
	const perQuery = 500
	for start := 0; start < len(ids); start += perQuery {
		chunk := ids[start:min(start+perQuery, len(ids))]
		rows, err := s.write.QueryContext(ctx, storedSpansSQL(len(chunk)), chunk...)
		if err != nil {
			return nil, fmt.Errorf("find spans stored before: %w", err)
		}
		for rows.Next() {
			var traceID, spanID string
			if err := rows.Scan(&traceID, &spanID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find spans stored before: %w", err)
			}
			if key := (rollup.Key{TraceID: traceID, SpanID: spanID}); batch[key] {
				stored[key] = struct{}{}
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("find spans stored before: %w", err)
		}
	}
	return stored, nil
}

// storedSpansSQL selects the trace_id and span_id of the stored spans
// whose span_id is one of n bound parameters. The spans are found first,
// then their traces by row id: left to choose, SQLite walked every trace and
// looked the ids up in each (15 s for a re-sent batch of 2,000 spans over
// 100,000 stored).
func storedSpansSQL(n int) string {
	return "SELECT t.trace_id, s.span_id FROM (" + spanIDLookup("l.trace_rowid, l.span_id", n) +
		") s CROSS JOIN traces t ON t.id = s.trace_rowid"
}

// batchWriter holds the state of one write transaction.
type batchWriter struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	now   int64
	stmts map[string]*sql.Stmt
	args  []any
	row   []any // a chunk's span values, every column
	buf   []byte

	unique      []*span.Span     // the batch without repeats and skipped spans
	traces      []*traceState    // the batch's traces, in first-seen order
	newProjects map[string]int64 // created in this transaction
	plan        *rollup.Plan     // what the batch changes in the roll-ups
}

func (w *batchWriter) projectID(name string) (int64, error) {
	if id, ok := w.s.projects.get(name); ok {
		return id, nil
	}
	if id, ok := w.newProjects[name]; ok {
		return id, nil
	}
	id, err := createProject(w.ctx, w.tx, name, w.now)
	if err != nil {
		return 0, err
	}
	if w.newProjects == nil {
		w.newProjects = make(map[string]int64)
	}
	w.newProjects[name] = id
	return id, nil
}

func (w *batchWriter) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	if w.stmts == nil {
		w.stmts = make(map[string]*sql.Stmt)
	}
	st, err := w.s.kept.in(w.ctx, w.tx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

func (w *batchWriter) closeStatements() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *batchWriter) exec(query string, args ...any) error {
	st, err := w.stmt(query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(w.ctx, args...)
	return err
}

// traceState is what one batch adds to one trace, and the trace row after it.
type traceState struct {
	traceID   string
	projectID int64 // the project of the batch's first span, then the trace's

	batch rollup.Trace   // what the batch adds
	fresh bool           // the batch inserts the trace
	was   *rollup.Stored // the row before the batch, nil when fresh

	traceRow
}

// traceRow is the stored trace row, after the batch.
type traceRow struct {
	id, sessionRowID int64
	storedSession    string // the session_id of sessionRowID
	stored           traceValues
}

// traceValues are the roll-up columns of a trace row.
type traceValues struct {
	start, end                      int64
	spanCount, errorCount, llmCount int64
	tokens                          span.TokenCounts
	cost                            rollup.Cost
	userID                          sql.NullString
	root                            traceRoot
}

// traceRoot is what a trace row keeps of its root span.
type traceRoot struct {
	spanID, name, kind, status, input, output sql.NullString
}

// values returns what the batch adds to its trace, as a trace row.
func (t *traceState) values() traceValues {
	b := &t.batch
	v := traceValues{start: b.Start, end: b.End, spanCount: b.Spans, errorCount: b.Errors, llmCount: b.LLMs,
		tokens: b.Calls.Tokens, cost: b.Calls.Cost, userID: optional(b.UserID)}
	if r := b.Root(t.stored.root.spanID.Valid); r != nil {
		v.root = traceRoot{
			spanID: present(r.SpanID), name: present(r.Name), kind: present(string(r.View.Kind)),
			status: present(string(r.StatusCode)),
			input:  optional(r.View.InputPreview), output: optional(r.View.OutputPreview),
		}
	}
	return v
}

// storedRollup is what the trace row held, as its session needs it.
func (t *traceState) storedRollup() *rollup.Stored {
	v := &t.stored
	return &rollup.Stored{InSession: t.sessionRowID != 0, Session: t.storedSession, Start: v.start, End: v.end,
		Sums: rollup.Delta{Tokens: v.tokens, Cost: v.cost}, HasRoot: v.root.spanID.Valid,
		Input: v.root.input.String, Output: v.root.output.String}
}

// add adds a later batch to a stored trace: the time range widens, the
// counts and sums grow, and the trace keeps the first user stored, and its
// root (rollup.Trace.Root).
func (v *traceValues) add(b *traceValues) {
	v.start, v.end = min(v.start, b.start), max(v.end, b.end)
	v.spanCount += b.spanCount
	v.errorCount += b.errorCount
	v.llmCount += b.llmCount
	v.tokens.Add(b.tokens)
	v.cost.Merge(b.cost)
	if !v.userID.Valid {
		v.userID = b.userID
	}
	if !v.root.spanID.Valid {
		v.root = b.root
	}
}

// appendArgs appends the values in the order of traceValueColumns.
func (v *traceValues) appendArgs(args []any) []any {
	return append(args, v.start, v.end, v.spanCount, v.errorCount, v.llmCount,
		v.tokens.Prompt, v.tokens.Completion, v.tokens.Total, v.tokens.CacheRead, v.tokens.CacheWrite, v.tokens.Reasoning,
		v.userID, v.cost.Total, v.cost.Prompt, v.cost.Completion, v.cost.Unpriced,
		v.root.spanID, v.root.name, v.root.kind, v.root.status, v.root.input, v.root.output)
}

// scanArgs returns the destinations of the columns of traceValueColumns.
func (v *traceValues) scanArgs(dest []any) []any {
	return append(dest, &v.start, &v.end, &v.spanCount, &v.errorCount, &v.llmCount,
		&v.tokens.Prompt, &v.tokens.Completion, &v.tokens.Total, &v.tokens.CacheRead, &v.tokens.CacheWrite, &v.tokens.Reasoning,
		&v.userID, &v.cost.Total, &v.cost.Prompt, &v.cost.Completion, &v.cost.Unpriced,
		&v.root.spanID, &v.root.name, &v.root.kind, &v.root.status, &v.root.input, &v.root.output)
}

// write stores the batch. The roll-ups are written before the spans, as
// if every span were new; when one turns out to be stored already, write
// stops and reports the batch not written, and the caller writes it again
// without the spans stored.
func (w *batchWriter) write(spans []span.Span, skip map[rollup.Key]struct{}) (res store.WriteResult, written bool, err error) {
	// The traces in first-seen order, each in the project of its first span.
	traces := make(map[string]*traceState, len(spans)/4+1)
	var order []*traceState
	unique, repeats := rollup.Unique(spans)
	res.Duplicates = repeats
	w.unique = unique[:0]
	for _, sp := range unique {
		if _, ok := skip[rollup.KeyOf(sp)]; ok {
			continue
		}
		w.unique = append(w.unique, sp)
		t, ok := traces[sp.TraceID]
		if !ok {
			projectID, err := w.projectID(sp.Project)
			if err != nil {
				return res, false, err
			}
			t = &traceState{traceID: sp.TraceID, projectID: projectID}
			traces[sp.TraceID] = t
			order = append(order, t)
		}
		t.batch.Add(sp)
	}
	if len(w.unique) == 0 {
		return res, true, nil
	}
	w.traces = order
	packed := startPacking(w.unique, rowsPerInsert)
	defer packed.stop()
	if err := w.findTraces(order, traces); err != nil {
		return res, false, err
	}
	if err := w.planRollups(traces); err != nil {
		return res, false, err
	}
	if err := w.upsertTraces(order, traces); err != nil {
		return res, false, err
	}
	feedback, written, err := w.insertSpans(traces, packed)
	if err != nil || !written {
		return res, false, err
	}
	res.Inserted = len(w.unique)
	res.New = w.unique
	res.Uncounted = w.plan.Uncounted()
	if err := w.storeSpanMinutes(traces); err != nil {
		return res, false, err
	}
	if err := w.markSpans(traces); err != nil {
		return res, false, err
	}
	if err := w.updateSessions(order); err != nil {
		return res, false, err
	}
	if err := w.storeFeedback(feedback, traces); err != nil {
		return res, false, err
	}
	if err := w.storeUsage(); err != nil {
		return res, false, err
	}
	lastSpan := make(map[int64]int64)
	for _, t := range order {
		lastSpan[t.projectID] = max(lastSpan[t.projectID], t.batch.End)
	}
	for pid, ts := range lastSpan {
		if err := w.exec(`UPDATE projects SET last_span_time = max(coalesce(last_span_time, 0), ?), updated_at = ? WHERE id = ?`, ts, w.now, pid); err != nil {
			return res, false, fmt.Errorf("update project %d: %w", pid, err)
		}
		res.Projects = append(res.Projects, pid)
	}
	return res, true, nil
}

// rowsPerUpsert traces or sessions go in one statement.
const rowsPerUpsert = 64

// traceValueColumns are the columns of traceValues.
var traceValueColumns = []string{
	"start_time", "end_time", "span_count", "error_count", "llm_span_count",
	"prompt_tokens", "completion_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
	"user_id", "cost_total", "cost_prompt", "cost_completion", "unpriced_spans",
	"root_span_id", "root_name", "root_kind", "root_status", "input_preview", "output_preview",
}

var (
	traceInsertColumns = append([]string{"project_id", "trace_id"}, traceValueColumns...)
	traceFindSQL       = "SELECT id, trace_id, project_id, coalesce(session_rowid, 0), " +
		"(SELECT session_id FROM sessions WHERE sessions.id = traces.session_rowid), " +
		strings.Join(traceValueColumns, ", ") + " FROM traces WHERE "
	traceUpdateSQL = traceUpdate()
)

// traceUpdate returns the head of the statement that writes traces'
// values, by row id, from a VALUES list appended to it.
func traceUpdate() string {
	set := make([]string, len(traceValueColumns))
	for i, c := range traceValueColumns {
		set[i] = fmt.Sprintf("%s = v.column%d", c, i+2)
	}
	return "UPDATE OR FAIL traces SET " + strings.Join(set, ", ") + " FROM (VALUES "
}

// upsertTraces adds the batch to its traces: it reads the traces stored
// before, adds the batch to them here, then inserts the new traces and
// writes the others back.
//
// Merging here rather than in an INSERT … ON CONFLICT DO UPDATE keeps the
// statements free of a statement journal: SQLite journals every page an
// upsert of many rows touches, so that it can undo the statement alone,
// and a trace's page in the trace_id index is a new random one for almost
// every new trace. OR FAIL reports a violated constraint without undoing
// the statement's earlier rows; the transaction is rolled back instead.
//
// The traces stored before are read first, by findTraces.
func (w *batchWriter) upsertTraces(order []*traceState, traces map[string]*traceState) error {
	var fresh, continued []*traceState
	var moved []int64 // continued traces that start earlier now
	minutes := make(minuteDeltas)
	for _, t := range order {
		batch := t.values()
		if t.id == 0 {
			t.stored, t.fresh = batch, true
			fresh = append(fresh, t)
			minutes.add(t.projectID, &t.stored, 1)
			continue
		}
		t.was = t.storedRollup()
		minutes.add(t.projectID, &t.stored, -1)
		t.stored.add(&batch)
		minutes.add(t.projectID, &t.stored, 1)
		if t.stored.start != t.was.Start {
			moved = append(moved, t.id)
		}
		continued = append(continued, t)
	}
	if err := w.insertTraces(fresh, traces); err != nil {
		return err
	}
	if err := w.updateTraces(continued); err != nil {
		return err
	}
	if err := w.storeTraceMinutes(minutes); err != nil {
		return err
	}
	return w.moveTraceAnnotations(moved)
}

// moveTraceAnnotations sets the start time the annotations of traces keep
// (migration 0021) to the traces' new one: a statement a batch, which
// finds the few annotated traces among them on trace_annotations_trace.
func (w *batchWriter) moveTraceAnnotations(traceRows []int64) error {
	if len(traceRows) == 0 {
		return nil
	}
	w.buf = w.buf[:0]
	w.buf = append(w.buf, '[')
	for i, id := range traceRows {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = strconv.AppendInt(w.buf, id, 10)
	}
	w.buf = append(w.buf, ']')
	if err := w.exec(moveTraceAnnotationsSQL, string(w.buf)); err != nil {
		return fmt.Errorf("move the annotations of traces: %w", err)
	}
	return nil
}

const moveTraceAnnotationsSQL = `UPDATE trace_annotations SET entity_start = (SELECT start_time FROM traces WHERE traces.id = trace_rowid)
	WHERE trace_rowid IN (SELECT value FROM json_each(?))`

// findTraces reads the batch's traces that are stored already. Most are
// new, and the filter of stored trace ids says so without a lookup; a trace
// written lately is read by its row id; the others are looked up by trace
// id, block by block.
func (w *batchWriter) findTraces(order []*traceState, traces map[string]*traceState) error {
	known := w.s.known
	var rowIDs []any
	for _, t := range order {
		if id, ok := known.rowID(t.traceID); ok {
			rowIDs = append(rowIDs, id)
		}
	}
	if err := w.readTraces(rowIDs, func(n int) string { return "id IN (" + placeholders(n) + ")" }, traces); err != nil {
		return err
	}
	var traceIDs []any
	for _, t := range order {
		if t.id == 0 && known.mayBeStored(t.traceID) {
			traceIDs = append(traceIDs, t.traceID)
		}
	}
	return w.readTraces(traceIDs, func(n int) string { return traceRowIDs("id", n) }, traces)
}

// readTraces reads the stored traces that cond, given the number of keys,
// selects by keys, into the batch's traces. A row of a trace not in the
// batch (a row id reused since it was remembered) is ignored.
func (w *batchWriter) readTraces(keys []any, cond func(n int) string, traces map[string]*traceState) error {
	const perQuery = 256
	var dest []any
	for _, chunk := range rowChunks(keys, perQuery) {
		st, err := w.stmt(traceFindSQL + cond(len(chunk)))
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(w.ctx, chunk...)
		if err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
		for rows.Next() {
			var traceID string
			var projectID int64
			var session sql.NullString
			var r traceRow
			dest = r.stored.scanArgs(append(dest[:0], &r.id, &traceID, &projectID, &r.sessionRowID, &session))
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("find traces: %w", err)
			}
			r.storedSession = session.String
			if t := traces[traceID]; t != nil {
				t.traceRow, t.projectID = r, projectID
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("find traces: %w", err)
		}
	}
	return nil
}

// insertTraces inserts new traces and learns their row ids.
func (w *batchWriter) insertTraces(fresh []*traceState, traces map[string]*traceState) error {
	for _, chunk := range rowChunks(fresh, rowsPerUpsert) {
		st, err := w.stmt(w.s.texts.multiRow("INSERT OR FAIL INTO traces", traceInsertColumns, len(chunk), " RETURNING id, trace_id"))
		if err != nil {
			return err
		}
		w.args = w.args[:0]
		for _, t := range chunk {
			w.args = t.stored.appendArgs(append(w.args, t.projectID, t.traceID))
		}
		rows, err := st.QueryContext(w.ctx, w.args...)
		if err != nil {
			return fmt.Errorf("insert traces: %w", err)
		}
		inserted := 0
		for rows.Next() {
			var id int64
			var traceID string
			if err := rows.Scan(&id, &traceID); err != nil {
				rows.Close()
				return fmt.Errorf("insert traces: %w", err)
			}
			traces[traceID].id = id
			inserted++
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("insert traces: %w", err)
		}
		if inserted != len(chunk) {
			return fmt.Errorf("insert traces: %d of %d rows inserted", inserted, len(chunk))
		}
	}
	return nil
}

// updateTraces writes back traces stored before, with the batch added.
func (w *batchWriter) updateTraces(continued []*traceState) error {
	row := "(" + placeholders(1+len(traceValueColumns)) + ")"
	for _, chunk := range rowChunks(continued, rowsPerUpsert) {
		w.args = w.args[:0]
		for _, t := range chunk {
			w.args = t.stored.appendArgs(append(w.args, t.id))
		}
		values := strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")
		if err := w.exec(traceUpdateSQL+values+") AS v WHERE traces.id = v.column1", w.args...); err != nil {
			return fmt.Errorf("update traces: %w", err)
		}
	}
	return nil
}

// insertSpans inserts the batch's spans and returns those carrying
// annotations, with their row ids. It stops at a span already stored,
// reporting the spans not written.
func (w *batchWriter) insertSpans(traces map[string]*traceState, packed *packer) (feedback []spanRow, written bool, err error) {
	origins := make(map[originKey]int64)
	var withFeedback []*span.Span
	for start, chunk := range rowChunks(w.unique, rowsPerInsert) {
		w.row = w.row[:0]
		packed.wait()
		for i, sp := range chunk {
			originID, err := w.originID(sp, origins)
			if err != nil {
				return nil, false, err
			}
			w.row = w.spanArgs(w.row, sp, traces[sp.TraceID], originID, packed.attributes[start+i])
			if len(sp.View.Feedback) > 0 {
				withFeedback = append(withFeedback, sp)
			}
		}
		used := usedColumns(w.row, len(spanColumns))
		st, err := w.stmt(w.s.texts.spanInsert(used, len(chunk)))
		if err != nil {
			return nil, false, err
		}
		w.args = appendUsed(w.args[:0], w.row, len(spanColumns), used)
		r, err := st.ExecContext(w.ctx, w.args...)
		if err != nil {
			return nil, false, fmt.Errorf("insert spans: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, false, fmt.Errorf("insert spans: %w", err)
		} else if int(n) < len(chunk) {
			return nil, false, nil
		}
	}
	feedback = make([]spanRow, 0, len(withFeedback))
	for _, sp := range withFeedback {
		var rowID int64
		if err := w.tx.QueryRowContext(w.ctx, `SELECT id FROM spans WHERE trace_rowid = ? AND span_id = ?`,
			traces[sp.TraceID].id, sp.SpanID).Scan(&rowID); err != nil {
			return nil, false, fmt.Errorf("find span %s: %w", sp.SpanID, err)
		}
		feedback = append(feedback, spanRow{sp, rowID})
	}
	return feedback, true, nil
}

type spanRow struct {
	span  *span.Span
	rowID int64
}

// statementTexts are the texts of the writer's multi-row statements, built
// once for each shape they take. Only the writer, under the write lock,
// uses them.
type statementTexts struct {
	multiRows   map[multiRowKey]string
	spanInserts map[spanInsertKey]string
}

type multiRowKey struct {
	head string
	rows int
	tail string
}

// multiRow is "head (columns) VALUES (?, …), … tail" for n rows.
func (c *statementTexts) multiRow(head string, columns []string, n int, tail string) string {
	key := multiRowKey{head, n, tail}
	if q, ok := c.multiRows[key]; ok {
		return q
	}
	if c.multiRows == nil {
		c.multiRows = make(map[multiRowKey]string)
	}
	q := buildMultiRowSQL(head, columns, n, tail)
	c.multiRows[key] = q
	return q
}

func buildMultiRowSQL(head string, columns []string, n int, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" (")
	b.WriteString(strings.Join(columns, ", "))
	b.WriteString(") VALUES ")
	row := "(" + placeholders(len(columns)) + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// columnSet is a set of spanColumns, by index.
type columnSet uint64

// A span column past the 64 a columnSet holds fails to compile here.
const _ = uint(64 - len(spanColumns))

// usedColumns is the set of columns with a value in some row of values,
// which holds rows of width values each.
func usedColumns(values []any, width int) columnSet {
	var used columnSet
	for row := 0; row < len(values); row += width {
		for col, v := range values[row : row+width] {
			if v != nil {
				used |= 1 << col
			}
		}
	}
	return used
}

// appendUsed appends the values of the columns in used, row by row.
func appendUsed(args, values []any, width int, used columnSet) []any {
	for row := 0; row < len(values); row += width {
		for col, v := range values[row : row+width] {
			if used&(1<<col) != 0 {
				args = append(args, v)
			}
		}
	}
	return args
}

type spanInsertKey struct {
	used columnSet
	rows int
}

// spanInsert inserts rows spans, naming only the columns in used: the
// others take their default, NULL, without a parameter to bind. Small spans
// leave most columns empty, and binding a parameter through the driver
// costs about as much as SQLite's work on the value.
func (c *statementTexts) spanInsert(used columnSet, rows int) string {
	key := spanInsertKey{used, rows}
	if q, ok := c.spanInserts[key]; ok {
		return q
	}
	columns := make([]string, 0, len(spanColumns))
	for i, col := range spanColumns {
		if used&(1<<i) != 0 {
			columns = append(columns, col)
		}
	}
	if c.spanInserts == nil {
		c.spanInserts = make(map[spanInsertKey]string)
	}
	q := buildMultiRowSQL("INSERT OR IGNORE INTO spans", columns, rows, "")
	c.spanInserts[key] = q
	return q
}

func (w *batchWriter) spanArgs(args []any, sp *span.Span, t *traceState, originID any, attributes []byte) []any {
	v := &sp.View
	events, links := sp.StoredEventsAndLinks(&w.buf)
	inPreview, outPreview := v.KeptPreviews()
	args = append(args,
		t.id, t.projectID, sp.SpanID, nullString(sp.ParentID), sp.Name, string(v.Kind),
		sp.StartTime, sp.EndTime, string(sp.StatusCode), sp.StatusMessage,
		nullString(v.ModelName), nullString(v.Provider), nullString(v.SessionID), nullString(v.UserID),
		nullIO(sp.Attributes, span.AttrInputValue, v.InputValue), nullString(v.InputMimeType),
		nullIO(sp.Attributes, span.AttrOutputValue, v.OutputValue), nullString(v.OutputMimeType),
		nullString(inPreview), nullString(outPreview),
		nullInt(v.Tokens.Prompt), nullInt(v.Tokens.Completion), nullInt(v.Tokens.Total),
		nullInt(v.Tokens.CacheRead), nullInt(v.Tokens.CacheWrite), nullInt(v.Tokens.Reasoning),
		attributes, nullString(events), nullString(links), sp.OTelKind, nullString(sp.TraceState), originID,
	)
	c := &v.Cost
	if c.Status != span.CostPriced {
		args = append(args, nullString(string(c.Status)), nil, nil, nil, nil, nil, nil)
	} else {
		args = append(args, string(c.Status), c.Total, c.Prompt, c.Completion, nullString(c.Details), nullString(c.Source), nullString(c.Entry))
	}
	return append(args, callState(w.plan.New[sp]), nullString(v.ErrorGroup), promptVersion(sp))
}

// promptVersion is what the prompt_version column (migrations 0026, 0032)
// holds for a span: store.PromptVersionColumn, NULL when it has none.
func promptVersion(sp *span.Span) any {
	if v, ok := store.PromptVersionColumn(sp); ok {
		return v
	}
	return nil
}

// nullIO keeps "absent" and "empty string" apart for input and output values.
func nullIO(a span.Attributes, key, value string) any {
	if value != "" {
		return value
	}
	if _, ok := a.Get(key); ok {
		return ""
	}
	return nil
}

// optional is s, or NULL when s is empty.
func optional(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// present is s, even when empty.
func present(s string) sql.NullString {
	return sql.NullString{String: s, Valid: true}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// originKey identifies a span's resource and scope within a batch: the
// spans of one ResourceSpans share their resource attributes, so comparing
// the slice saves encoding the resource for every span.
type originKey struct {
	resource      *span.Attr
	n             int
	scope, scopeV string
}

// originID returns the row of the span's resource and scope, creating it once.
func (w *batchWriter) originID(sp *span.Span, cache map[originKey]int64) (any, error) {
	if len(sp.Resource) == 0 && sp.Scope.Name == "" && sp.Scope.Version == "" {
		return nil, nil
	}
	key := originKey{n: len(sp.Resource), scope: sp.Scope.Name, scopeV: sp.Scope.Version}
	if len(sp.Resource) > 0 {
		key.resource = &sp.Resource[0]
	}
	if id, ok := cache[key]; ok {
		return id, nil
	}
	resource := string(sp.Resource.AppendJSON(nil))
	sum := sha256.Sum256([]byte(resource + "\x00" + sp.Scope.Name + "\x00" + sp.Scope.Version))
	hash := hex.EncodeToString(sum[:16])
	st, err := w.stmt(`INSERT INTO origins (hash, resource, scope_name, scope_version) VALUES (?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET hash = hash RETURNING id`)
	if err != nil {
		return nil, err
	}
	var id int64
	if err := st.QueryRowContext(w.ctx, hash, resource, sp.Scope.Name, sp.Scope.Version).Scan(&id); err != nil {
		return nil, fmt.Errorf("store resource: %w", err)
	}
	cache[key] = id
	return id, nil
}

// sessionState is what one batch adds to one session.
type sessionState struct {
	change     rollup.SessionChange // its traces', merged
	projectID  int64
	traceCount int64
	attach     []*traceState // traces joining the session
}

// A session's first input is its earliest trace's root input, and its
// last output is its latest trace's root output; the SET expressions read
// the row as it was before the statement.
const sessionUpsertConflict = ` ON CONFLICT (session_id) DO UPDATE SET
	start_time = min(start_time, excluded.start_time), end_time = max(end_time, excluded.end_time),
	trace_count = trace_count + excluded.trace_count,
	prompt_tokens = prompt_tokens + excluded.prompt_tokens,
	completion_tokens = completion_tokens + excluded.completion_tokens,
	total_tokens = total_tokens + excluded.total_tokens,
	user_id = coalesce(user_id, excluded.user_id),
	cost_total = cost_total + excluded.cost_total,
	unpriced_spans = unpriced_spans + excluded.unpriced_spans,
	first_input = CASE WHEN excluded.first_input_time IS NOT NULL AND (first_input_time IS NULL OR first_input_time > excluded.first_input_time)
		THEN excluded.first_input ELSE first_input END,
	first_input_time = CASE WHEN excluded.first_input_time IS NOT NULL AND (first_input_time IS NULL OR first_input_time > excluded.first_input_time)
		THEN excluded.first_input_time ELSE first_input_time END,
	last_output = CASE WHEN excluded.last_output_time IS NOT NULL AND (last_output_time IS NULL OR last_output_time <= excluded.last_output_time)
		THEN excluded.last_output ELSE last_output END,
	last_output_time = CASE WHEN excluded.last_output_time IS NOT NULL AND (last_output_time IS NULL OR last_output_time <= excluded.last_output_time)
		THEN excluded.last_output_time ELSE last_output_time END
RETURNING id, session_id`

var sessionUpsertColumns = []string{
	"project_id", "session_id", "start_time", "end_time", "trace_count", "prompt_tokens", "completion_tokens",
	"total_tokens", "user_id", "cost_total", "unpriced_spans", "first_input", "first_input_time", "last_output",
	"last_output_time",
}

// updateSessions attaches traces to their sessions (creating a session on
// first sight) and moves the sessions' roll-ups by what the batch added.
func (w *batchWriter) updateSessions(order []*traceState) error {
	sessions := make(map[string]*sessionState)
	var sessionOrder []*sessionState
	for _, t := range order {
		c, ok := t.batch.Session(t.was)
		if !ok {
			continue
		}
		ss := sessions[c.SessionID]
		if ss == nil {
			ss = &sessionState{change: c, projectID: t.projectID}
			sessions[c.SessionID] = ss
			sessionOrder = append(sessionOrder, ss)
		} else {
			ss.change.Merge(&c)
		}
		if c.Joins {
			ss.traceCount++
			ss.attach = append(ss.attach, t)
		}
	}
	type attachment struct{ trace, session int64 }
	var attach []attachment
	for _, chunk := range rowChunks(sessionOrder, rowsPerUpsert) {
		st, err := w.stmt(w.s.texts.multiRow("INSERT INTO sessions", sessionUpsertColumns, len(chunk), sessionUpsertConflict))
		if err != nil {
			return err
		}
		w.args = w.args[:0]
		for _, ss := range chunk {
			c := &ss.change
			w.args = append(w.args, ss.projectID, c.SessionID, c.Start, c.End, ss.traceCount,
				c.Delta.Tokens.Prompt, c.Delta.Tokens.Completion, c.Delta.Tokens.Total, nullString(c.UserID),
				c.Delta.Cost.Total, c.Delta.Cost.Unpriced,
				nullString(c.Input.Text), offerTime(c.Input), nullString(c.Output.Text), offerTime(c.Output))
		}
		rows, err := st.QueryContext(w.ctx, w.args...)
		if err != nil {
			return fmt.Errorf("update sessions: %w", err)
		}
		for rows.Next() {
			var rowID int64
			var id string
			if err := rows.Scan(&rowID, &id); err != nil {
				rows.Close()
				return fmt.Errorf("update sessions: %w", err)
			}
			for _, t := range sessions[id].attach {
				t.sessionRowID = rowID
				attach = append(attach, attachment{t.id, rowID})
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("update sessions: %w", err)
		}
	}
	for _, chunk := range rowChunks(attach, rowsPerUpsert) {
		w.args = w.args[:0]
		for _, a := range chunk {
			w.args = append(w.args, a.trace, a.session)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(chunk)), ", ")
		if err := w.exec(`UPDATE traces SET session_rowid = v.column2 FROM (VALUES `+values+`) AS v
				WHERE traces.id = v.column1`, w.args...); err != nil {
			return fmt.Errorf("attach traces to sessions: %w", err)
		}
	}
	return nil
}

// offerTime is the time of a root's input or output offered to a session,
// NULL when none is.
func offerTime(o rollup.Offer) any {
	if !o.Made {
		return nil
	}
	return o.At
}

// projectCache maps project names to ids so the hot path skips a query.
type projectCache struct {
	mu     sync.Mutex
	byName map[string]int64
}

func (c *projectCache) get(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byName[name]
	return id, ok
}

func (c *projectCache) put(name string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil {
		c.byName = make(map[string]int64)
	}
	c.byName[name] = id
}

func (c *projectCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName = nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// createProject finds or creates the project named name.
func createProject(ctx context.Context, q queryer, name string, now int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO projects (name, created_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET name = name RETURNING id`, name, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create project %q: %w", name, err)
	}
	return id, nil
}

// ensureDefaultProject creates the default project unless it exists. It
// writes nothing when it does, so that a server starts on a full disk; when
// the disk is full before it was ever created, the first span sent to it
// creates it.
func (s *Store) ensureDefaultProject(ctx context.Context) error {
	var exists bool
	if err := s.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE name = ?)`, span.DefaultProject).Scan(&exists); err != nil {
		return fmt.Errorf("find the default project: %w", err)
	}
	if exists {
		return nil
	}
	unlock, err := s.lockWrite(ctx, checkedWrites)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = createProject(ctx, s.write, span.DefaultProject, time.Now().UnixNano())
	if errors.Is(err, store.ErrUnavailable) {
		s.log.Warn("the default project is created with its first span: the database takes no writes now", "err", err)
		return nil
	}
	return err
}

// storeFeedback stores annotations that spans carried as attributes. It runs
// after the trace and session roll-ups so session feedback finds its session.
func (w *batchWriter) storeFeedback(feedback []spanRow, traces map[string]*traceState) error {
	for _, r := range feedback {
		t := traces[r.span.TraceID]
		for _, f := range r.span.View.Feedback {
			a, entity, ok := store.FeedbackAnnotation(f, r.rowID, t.id, t.sessionRowID)
			if !ok {
				continue
			}
			if _, err := upsertAnnotation(w.ctx, w.stmt, schema.AnnotationTables[a.Kind], a, entity, w.now); err != nil {
				return err
			}
		}
	}
	return nil
}
