package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// PreviewLength bounds the input and output previews kept on traces and
// sessions, in bytes: enough for a table cell and a chat bubble summary.
const PreviewLength = 1000

// spanColumns are written by one multi-row INSERT; their order matches spanArgs.
var spanColumns = []string{
	"trace_rowid", "project_id", "span_id", "parent_id", "name", "span_kind", "start_time", "end_time",
	"status_code", "status_message", "model_name", "provider", "session_id", "user_id",
	"input_value", "input_mime_type", "output_value", "output_mime_type",
	"prompt_tokens", "completion_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
	"reasoning_tokens", "attributes", "events", "links", "otel_kind", "trace_state", "origin_id",
	"cost_status", "cost_total", "cost_prompt", "cost_completion", "cost_details", "cost_source", "cost_entry",
}

// rowsPerInsert keeps a statement under SQLite's bound-parameter limit while
// amortising the per-statement cost across many spans.
const rowsPerInsert = 32

// WriteSpans stores spans and their roll-ups in one transaction.
func (s *Store) WriteSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	if len(spans) == 0 {
		return store.WriteResult{}, nil
	}
	s.writeM.Lock()
	defer s.writeM.Unlock()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.WriteResult{}, fmt.Errorf("begin write: %w", err)
	}
	w := &batchWriter{s: s, tx: tx, ctx: ctx, now: time.Now().UnixNano()}
	res, err := w.write(spans)
	w.closeStatements()
	if err != nil {
		tx.Rollback()
		return store.WriteResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.WriteResult{}, fmt.Errorf("commit %d spans: %w", len(spans), err)
	}
	// Only committed projects enter the cache: a rolled-back id would be reused.
	for name, id := range w.newProjects {
		s.projects.put(name, id)
	}
	return res, nil
}

// batchWriter holds the state of one write transaction.
type batchWriter struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	now   int64
	stmts map[string]*sql.Stmt
	args  []any
	buf   []byte

	newProjects map[string]int64 // created in this transaction

	feedbackRows []spanRow // inserted spans carrying annotations
}

type spanRow struct {
	span  *span.Span
	rowID int64
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
	st, err := w.tx.PrepareContext(w.ctx, query)
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

// traceState accumulates what one batch changes on one trace.
type traceState struct {
	id, projectID, sessionRowID int64
	hadRoot, hadUser            bool
	oldTokens                   span.TokenCounts
	oldCost                     float64
	oldUnpriced                 int64
	oldStart, oldEnd            int64

	cost rollup.Cost

	start, end                       int64
	spanCount, errorCount, llmCount  int64
	tokens                           span.TokenCounts
	root                             *span.Span
	userID, sessionID, sessionUserID string
}

func (w *batchWriter) write(spans []span.Span) (store.WriteResult, error) {
	var res store.WriteResult

	// Resolve the traces, first-seen order, creating them in the project of
	// their first span when new.
	traces := make(map[string]*traceState, len(spans)/4+1)
	order := make([]string, 0, len(spans)/4+1)
	seen := make(map[string]struct{}, len(spans))
	unique := spans[:0:0]
	for i := range spans {
		sp := &spans[i]
		if _, dup := seen[sp.SpanID]; dup {
			res.Duplicates++
			continue
		}
		seen[sp.SpanID] = struct{}{}
		unique = append(unique, *sp)
		t, ok := traces[sp.TraceID]
		if !ok {
			projectID, err := w.projectID(sp.Project)
			if err != nil {
				return res, err
			}
			t = &traceState{projectID: projectID, start: sp.StartTime, end: sp.EndTime}
			traces[sp.TraceID] = t
			order = append(order, sp.TraceID)
		}
		t.start = min(t.start, sp.StartTime)
		t.end = max(t.end, sp.EndTime)
	}
	for _, id := range order {
		if err := w.upsertTrace(id, traces[id]); err != nil {
			return res, err
		}
	}

	inserted, err := w.insertSpans(unique, traces)
	if err != nil {
		return res, err
	}
	res.Inserted = len(inserted)
	res.New = inserted
	res.Duplicates += len(unique) - len(inserted)

	for _, sp := range inserted {
		t := traces[sp.TraceID]
		t.spanCount++
		if sp.StatusCode == span.StatusError {
			t.errorCount++
		}
		if sp.View.Kind == span.KindLLM {
			t.llmCount++
			t.tokens.Add(sp.View.Tokens)
			t.cost.Add(&sp.View.Cost)
		}
		if sp.IsRoot() && !t.hadRoot {
			if t.root == nil || sp.StartTime < t.root.StartTime {
				t.root = sp
			}
		}
		if t.userID == "" && sp.View.UserID != "" {
			t.userID = sp.View.UserID
		}
		if sp.View.SessionID != "" && (t.sessionID == "" || sp.IsRoot()) {
			t.sessionID = sp.View.SessionID
		}
	}

	lastSpan := make(map[int64]int64)
	for _, id := range order {
		t := traces[id]
		if t.spanCount == 0 {
			continue
		}
		if err := w.updateTrace(t); err != nil {
			return res, fmt.Errorf("update trace %s: %w", id, err)
		}
		if err := w.updateSession(t); err != nil {
			return res, fmt.Errorf("update session of trace %s: %w", id, err)
		}
		lastSpan[t.projectID] = max(lastSpan[t.projectID], t.end)
	}
	if err := w.storeFeedback(traces); err != nil {
		return res, err
	}
	if err := w.storeUsage(inserted, traces); err != nil {
		return res, err
	}
	for pid, ts := range lastSpan {
		if err := w.exec(`UPDATE projects SET last_span_time = max(coalesce(last_span_time, 0), ?), updated_at = ? WHERE id = ?`, ts, w.now, pid); err != nil {
			return res, fmt.Errorf("update project %d: %w", pid, err)
		}
		res.Projects = append(res.Projects, pid)
	}
	return res, nil
}

func (w *batchWriter) upsertTrace(traceID string, t *traceState) error {
	st, err := w.stmt(`INSERT INTO traces (project_id, trace_id, start_time, end_time) VALUES (?, ?, ?, ?)
		ON CONFLICT (trace_id) DO UPDATE SET start_time = start_time
		RETURNING id, project_id, coalesce(session_rowid, 0), root_span_id IS NOT NULL, user_id IS NOT NULL,
			start_time, end_time, prompt_tokens, completion_tokens, total_tokens, cost_total, unpriced_spans`)
	if err != nil {
		return err
	}
	err = st.QueryRowContext(w.ctx, t.projectID, traceID, t.start, t.end).Scan(
		&t.id, &t.projectID, &t.sessionRowID, &t.hadRoot, &t.hadUser,
		&t.oldStart, &t.oldEnd, &t.oldTokens.Prompt, &t.oldTokens.Completion, &t.oldTokens.Total, &t.oldCost, &t.oldUnpriced)
	if err != nil {
		return fmt.Errorf("upsert trace %s: %w", traceID, err)
	}
	return nil
}

// insertSpans inserts the spans whose span_id is new and returns them.
func (w *batchWriter) insertSpans(spans []span.Span, traces map[string]*traceState) ([]*span.Span, error) {
	bySpanID := make(map[string]*span.Span, len(spans))
	for i := range spans {
		bySpanID[spans[i].SpanID] = &spans[i]
	}
	inserted := make([]*span.Span, 0, len(spans))
	origins := make(map[string]int64)
	for start := 0; start < len(spans); start += rowsPerInsert {
		chunk := spans[start:min(start+rowsPerInsert, len(spans))]
		st, err := w.stmt(insertSpansSQL(len(chunk)))
		if err != nil {
			return nil, err
		}
		w.args = w.args[:0]
		for i := range chunk {
			sp := &chunk[i]
			originID, err := w.originID(sp, origins)
			if err != nil {
				return nil, err
			}
			w.args = w.spanArgs(w.args, sp, traces[sp.TraceID], originID)
		}
		rows, err := st.QueryContext(w.ctx, w.args...)
		if err != nil {
			return nil, fmt.Errorf("insert spans: %w", err)
		}
		for rows.Next() {
			var rowID int64
			var id string
			if err := rows.Scan(&rowID, &id); err != nil {
				rows.Close()
				return nil, err
			}
			sp := bySpanID[id]
			if len(sp.View.Feedback) > 0 {
				w.feedbackRows = append(w.feedbackRows, spanRow{sp, rowID})
			}
			inserted = append(inserted, sp)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("insert spans: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("insert spans: %w", err)
		}
	}
	return inserted, nil
}

var insertSQLCache sync.Map // row count → statement text

func insertSpansSQL(n int) string {
	if q, ok := insertSQLCache.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO spans (")
	b.WriteString(strings.Join(spanColumns, ", "))
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(spanColumns)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (span_id) DO NOTHING RETURNING id, span_id")
	q := b.String()
	insertSQLCache.Store(n, q)
	return q
}

func (w *batchWriter) spanArgs(args []any, sp *span.Span, t *traceState, originID any) []any {
	v := &sp.View
	w.buf = sp.Attributes.AppendJSONExcept(w.buf[:0], isIOValue)
	attrs := string(w.buf)
	args = append(args,
		t.id, t.projectID, sp.SpanID, nullString(sp.ParentID), sp.Name, string(v.Kind),
		sp.StartTime, sp.EndTime, string(sp.StatusCode), sp.StatusMessage,
		nullString(v.ModelName), nullString(v.Provider), nullString(v.SessionID), nullString(v.UserID),
		nullIO(sp.Attributes, span.AttrInputValue, v.InputValue), nullString(v.InputMimeType),
		nullIO(sp.Attributes, span.AttrOutputValue, v.OutputValue), nullString(v.OutputMimeType),
		nullInt(v.Tokens.Prompt), nullInt(v.Tokens.Completion), nullInt(v.Tokens.Total),
		nullInt(v.Tokens.CacheRead), nullInt(v.Tokens.CacheWrite), nullInt(v.Tokens.Reasoning),
		attrs, eventsJSON(sp.Events), linksJSON(sp.Links), sp.OTelKind, nullString(sp.TraceState), originID,
	)
	c := &v.Cost
	if c.Status != span.CostPriced {
		return append(args, nullString(string(c.Status)), nil, nil, nil, nil, nil, nil)
	}
	return append(args, string(c.Status), c.Total, c.Prompt, c.Completion, nullString(c.Details), nullString(c.Source), nullString(c.Entry))
}

// isIOValue marks the attributes kept in their own columns instead of the JSON.
func isIOValue(key string) bool {
	return key == span.AttrInputValue || key == span.AttrOutputValue
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

func eventsJSON(events []span.Event) any {
	if len(events) == 0 {
		return nil
	}
	b := []byte{'['}
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = span.AppendJSONString(b, e.Name)
		b = fmt.Appendf(b, `,"time_unix_nano":%d,"attributes":`, e.Time)
		b = e.Attributes.AppendJSON(b)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

func linksJSON(links []span.Link) any {
	if len(links) == 0 {
		return nil
	}
	b := []byte{'['}
	for i, l := range links {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"trace_id":%q,"span_id":%q,"trace_state":`, l.TraceID, l.SpanID)
		b = span.AppendJSONString(b, l.TraceState)
		b = append(b, `,"attributes":`...)
		b = l.Attributes.AppendJSON(b)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// originID returns the row of the span's resource and scope, creating it once.
func (w *batchWriter) originID(sp *span.Span, cache map[string]int64) (any, error) {
	if len(sp.Resource) == 0 && sp.Scope.Name == "" && sp.Scope.Version == "" {
		return nil, nil
	}
	resource := string(sp.Resource.AppendJSON(nil))
	key := resource + "\x00" + sp.Scope.Name + "\x00" + sp.Scope.Version
	if id, ok := cache[key]; ok {
		return id, nil
	}
	sum := sha256.Sum256([]byte(key))
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

func (w *batchWriter) updateTrace(t *traceState) error {
	err := w.exec(`UPDATE traces SET
			start_time = min(start_time, ?), end_time = max(end_time, ?),
			span_count = span_count + ?, error_count = error_count + ?, llm_span_count = llm_span_count + ?,
			prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
			cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?,
			reasoning_tokens = reasoning_tokens + ?, user_id = coalesce(user_id, ?),
			cost_total = cost_total + ?, cost_prompt = cost_prompt + ?, cost_completion = cost_completion + ?,
			unpriced_spans = unpriced_spans + ?
		WHERE id = ?`,
		t.start, t.end, t.spanCount, t.errorCount, t.llmCount,
		t.tokens.Prompt, t.tokens.Completion, t.tokens.Total, t.tokens.CacheRead, t.tokens.CacheWrite,
		t.tokens.Reasoning, nullString(t.userID), t.cost.Total, t.cost.Prompt, t.cost.Completion, t.cost.Unpriced, t.id)
	if err != nil || t.root == nil {
		return err
	}
	r := t.root
	return w.exec(`UPDATE traces SET root_span_id = ?, root_name = ?, root_kind = ?, root_status = ?,
			input_preview = ?, output_preview = ? WHERE id = ?`,
		r.SpanID, r.Name, string(r.View.Kind), string(r.StatusCode),
		nullString(Preview(r.View.InputValue)), nullString(Preview(r.View.OutputValue)), t.id)
}

// updateSession attaches a trace to its session (creating the session on
// first sight) or moves the session's roll-ups by what this batch added.
func (w *batchWriter) updateSession(t *traceState) error {
	start, end := min(t.start, t.oldStart), max(t.end, t.oldEnd)
	switch {
	case t.sessionRowID == 0 && t.sessionID != "":
		tokens := t.oldTokens
		tokens.Add(t.tokens)
		st, err := w.stmt(`INSERT INTO sessions (project_id, session_id, start_time, end_time, trace_count,
				prompt_tokens, completion_tokens, total_tokens, user_id, cost_total, unpriced_spans)
			VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (session_id) DO UPDATE SET
				start_time = min(start_time, excluded.start_time), end_time = max(end_time, excluded.end_time),
				trace_count = trace_count + 1,
				prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens,
				total_tokens = total_tokens + excluded.total_tokens,
				user_id = coalesce(user_id, excluded.user_id),
				cost_total = cost_total + excluded.cost_total,
				unpriced_spans = unpriced_spans + excluded.unpriced_spans
			RETURNING id`)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(w.ctx, t.projectID, t.sessionID, start, end,
			tokens.Prompt, tokens.Completion, tokens.Total, nullString(t.userID),
			t.oldCost+t.cost.Total, t.oldUnpriced+t.cost.Unpriced).Scan(&t.sessionRowID); err != nil {
			return err
		}
		if err := w.exec(`UPDATE traces SET session_rowid = ? WHERE id = ?`, t.sessionRowID, t.id); err != nil {
			return err
		}
		if t.root == nil && t.hadRoot {
			// The root arrived earlier, before the trace had a session:
			// offer its input and output to the session now.
			return w.exec(`UPDATE sessions SET
					first_input = CASE WHEN first_input_time IS NULL OR first_input_time > ?1 THEN (SELECT input_preview FROM traces WHERE id = ?3) ELSE first_input END,
					first_input_time = CASE WHEN first_input_time IS NULL OR first_input_time > ?1 THEN ?1 ELSE first_input_time END,
					last_output = CASE WHEN last_output_time IS NULL OR last_output_time <= ?1 THEN (SELECT output_preview FROM traces WHERE id = ?3) ELSE last_output END,
					last_output_time = CASE WHEN last_output_time IS NULL OR last_output_time <= ?1 THEN ?1 ELSE last_output_time END
				WHERE id = ?2`, start, t.sessionRowID, t.id)
		}
	case t.sessionRowID != 0:
		err := w.exec(`UPDATE sessions SET start_time = min(start_time, ?), end_time = max(end_time, ?),
				prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
				user_id = coalesce(user_id, ?), cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ?
			WHERE id = ?`, start, end, t.tokens.Prompt, t.tokens.Completion, t.tokens.Total, nullString(t.userID),
			t.cost.Total, t.cost.Unpriced, t.sessionRowID)
		if err != nil {
			return err
		}
	default:
		return nil
	}
	if t.root == nil {
		return nil
	}
	// A session's first input is its earliest trace's root input, and its
	// last output is its latest trace's root output.
	return w.exec(`UPDATE sessions SET
			first_input = CASE WHEN first_input_time IS NULL OR first_input_time > ?1 THEN ?3 ELSE first_input END,
			first_input_time = CASE WHEN first_input_time IS NULL OR first_input_time > ?1 THEN ?1 ELSE first_input_time END,
			last_output = CASE WHEN last_output_time IS NULL OR last_output_time <= ?1 THEN ?4 ELSE last_output END,
			last_output_time = CASE WHEN last_output_time IS NULL OR last_output_time <= ?1 THEN ?1 ELSE last_output_time END
		WHERE id = ?2`, start, t.sessionRowID,
		nullString(Preview(t.root.View.InputValue)), nullString(Preview(t.root.View.OutputValue)))
}

// Preview cuts s to PreviewLength bytes at a rune boundary.
func Preview(s string) string {
	if len(s) <= PreviewLength {
		return s
	}
	cut := PreviewLength
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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

func (s *Store) ensureDefaultProject(ctx context.Context) error {
	s.writeM.Lock()
	defer s.writeM.Unlock()
	_, err := createProject(ctx, s.write, span.DefaultProject, time.Now().UnixNano())
	return err
}

// storeFeedback stores annotations that spans carried as attributes. It runs
// after the trace and session roll-ups so session feedback finds its session.
func (w *batchWriter) storeFeedback(traces map[string]*traceState) error {
	for _, r := range w.feedbackRows {
		t := traces[r.span.TraceID]
		for _, f := range r.span.View.Feedback {
			a := store.Annotation{Name: f.Name, Label: f.Label, Score: f.Score, Explanation: f.Explanation,
				AnnotatorKind: f.AnnotatorKind, Identifier: f.Identifier, Source: "API"}
			if f.Metadata != "" && json.Valid([]byte(f.Metadata)) {
				a.Metadata = json.RawMessage(f.Metadata)
			}
			var entity int64
			switch f.Target {
			case span.FeedbackSpan:
				a.Kind, entity = store.SpanAnnotation, r.rowID
			case span.FeedbackTrace:
				a.Kind, entity = store.TraceAnnotation, t.id
			case span.FeedbackSession:
				if t.sessionRowID == 0 {
					continue
				}
				a.Kind, entity = store.SessionAnnotation, t.sessionRowID
			}
			if _, err := upsertAnnotation(w.ctx, w.tx, schema.AnnotationTables[a.Kind], a, entity, w.now); err != nil {
				return err
			}
		}
	}
	return nil
}
