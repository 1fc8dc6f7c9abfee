package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// WriteSpans stores spans and their roll-ups in one transaction. Concurrent
// calls, from this process or others, may carry spans of the same traces.
func (s *Store) WriteSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	if len(spans) == 0 {
		return store.WriteResult{}, nil
	}
	b := newBatch(spans)
	var w *batchWriter
	err := s.inTx(ctx, fmt.Sprintf("write %d spans", len(spans)), func(tx pgx.Tx) error {
		w = &batchWriter{s: s, b: b, tx: tx, now: nowNanos()}
		return w.write(ctx)
	})
	if err != nil {
		return store.WriteResult{}, err
	}
	s.projects.putAll(w.newProjects)
	s.origins.putAll(w.newOrigins)
	return w.res, nil
}

// batch is what a write needs of its spans that does not depend on the
// database, prepared once however often the transaction is retried.
type batch struct {
	spans  []*span.Span // first of each span id, in arrival order
	dups   int
	traces []*traceIn // by trace id, the order rows are locked in
	cols   spanColumns
	// The span's origin, an index into origins, or -1.
	spanOrigin []int
	origins    []originIn // by hash
}

type traceIn struct {
	traceID, project string // the project of its first span
	start, end       int64
}

type originIn struct {
	hash, resource, scopeName, scopeVersion string
}

func newBatch(spans []span.Span) *batch {
	b := &batch{}
	b.spans, b.dups = rollup.Unique(spans)
	traces := map[string]*traceIn{}
	origins := map[string]int{}
	for _, sp := range b.spans {
		t, ok := traces[sp.TraceID]
		if !ok {
			t = &traceIn{traceID: sp.TraceID, project: text(sp.Project), start: sp.StartTime, end: sp.EndTime}
			traces[sp.TraceID] = t
			b.traces = append(b.traces, t)
		}
		t.start = min(t.start, sp.StartTime)
		t.end = max(t.end, sp.EndTime)
		b.spanOrigin = append(b.spanOrigin, originOf(sp, origins, &b.origins))
		b.cols.add(sp)
	}
	slices.SortFunc(b.traces, func(x, y *traceIn) int { return strings.Compare(x.traceID, y.traceID) })
	// Origins are inserted in hash order, and spans keep their index.
	order := make([]int, len(b.origins))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(b.origins[x].hash, b.origins[y].hash) })
	moved := make([]int, len(order))
	sorted := make([]originIn, len(order))
	for to, from := range order {
		moved[from] = to
		sorted[to] = b.origins[from]
	}
	b.origins = sorted
	for i, o := range b.spanOrigin {
		if o >= 0 {
			b.spanOrigin[i] = moved[o]
		}
	}
	return b
}

// originOf returns the index of the span's resource and scope in origins,
// adding them when new, or -1 when the span has neither.
func originOf(sp *span.Span, seen map[string]int, origins *[]originIn) int {
	if len(sp.Resource) == 0 && sp.Scope.Name == "" && sp.Scope.Version == "" {
		return -1
	}
	resource := jsonb(sp.Resource.AppendJSON(nil))
	key := resource + "\x00" + sp.Scope.Name + "\x00" + sp.Scope.Version
	if i, ok := seen[key]; ok {
		return i
	}
	sum := sha256.Sum256([]byte(key))
	*origins = append(*origins, originIn{hex.EncodeToString(sum[:16]), resource, text(sp.Scope.Name), text(sp.Scope.Version)})
	seen[key] = len(*origins) - 1
	return len(*origins) - 1
}

// spanColumns holds the spans' columns as arrays, the parameters of one
// INSERT … SELECT FROM unnest(…). The row ids of traces, projects and
// origins are filled in per transaction.
type spanColumns struct {
	traceRowID, projectID                                    []int64
	spanID, name, kind, status, statusMessage, attrs         []string
	start, end                                               []int64
	otelKind                                                 []int32
	originID                                                 []pgtype.Int8
	parentID, model, provider, session, user                 []pgtype.Text
	input, inputMime, output, outputMime, events, links, tst []pgtype.Text
	prompt, completion, total, cacheRead, cacheWrite, reason []pgtype.Int8
	costStatus, costDetails, costSource, costEntry           []pgtype.Text
	costTotal, costPrompt, costCompletion                    []pgtype.Float8
	search                                                   []*string
	inPreview, outPreview, promptVersion                     []pgtype.Text
	errorGroup                                               []pgtype.Text
	callState                                                []pgtype.Int2 // per transaction, from the plan
	buf                                                      []byte        // scratch for the JSON columns
}

func (c *spanColumns) add(sp *span.Span) {
	v := &sp.View
	c.spanID = append(c.spanID, text(sp.SpanID))
	c.parentID = append(c.parentID, nullText(sp.ParentID))
	c.name = append(c.name, text(sp.Name))
	c.kind = append(c.kind, text(string(v.Kind)))
	c.start = append(c.start, sp.StartTime)
	c.end = append(c.end, sp.EndTime)
	c.status = append(c.status, text(string(sp.StatusCode)))
	c.statusMessage = append(c.statusMessage, text(sp.StatusMessage))
	c.model = append(c.model, nullText(v.ModelName))
	c.provider = append(c.provider, nullText(v.Provider))
	c.session = append(c.session, nullText(v.SessionID))
	c.user = append(c.user, nullText(v.UserID))
	c.input = append(c.input, ioValue(sp.Attributes, span.AttrInputValue, v.InputValue))
	c.inputMime = append(c.inputMime, nullText(v.InputMimeType))
	c.output = append(c.output, ioValue(sp.Attributes, span.AttrOutputValue, v.OutputValue))
	c.outputMime = append(c.outputMime, nullText(v.OutputMimeType))
	c.prompt = append(c.prompt, nullInt(v.Tokens.Prompt))
	c.completion = append(c.completion, nullInt(v.Tokens.Completion))
	c.total = append(c.total, nullInt(v.Tokens.Total))
	c.cacheRead = append(c.cacheRead, nullInt(v.Tokens.CacheRead))
	c.cacheWrite = append(c.cacheWrite, nullInt(v.Tokens.CacheWrite))
	c.reason = append(c.reason, nullInt(v.Tokens.Reasoning))
	stored := sp.StoredJSON(&c.buf)
	c.attrs = append(c.attrs, jsonb(stored.Attributes))
	c.events = append(c.events, nullJSON(stored.Events))
	c.links = append(c.links, nullJSON(stored.Links))
	c.otelKind = append(c.otelKind, int32(sp.OTelKind))
	c.tst = append(c.tst, nullText(sp.TraceState))
	cost := &v.Cost
	priced := cost.Status == span.CostPriced
	c.costStatus = append(c.costStatus, nullText(string(cost.Status)))
	c.costTotal = append(c.costTotal, pgtype.Float8{Float64: cost.Total, Valid: priced})
	c.costPrompt = append(c.costPrompt, pgtype.Float8{Float64: cost.Prompt, Valid: priced})
	c.costCompletion = append(c.costCompletion, pgtype.Float8{Float64: cost.Completion, Valid: priced})
	if !priced {
		cost = &span.Cost{}
	}
	c.costDetails = append(c.costDetails, nullText(cost.Details))
	c.costSource = append(c.costSource, nullText(cost.Source))
	c.costEntry = append(c.costEntry, nullText(cost.Entry))
	c.search = append(c.search, searchVector(sp))
	in, out := v.KeptPreviews()
	c.inPreview = append(c.inPreview, nullText(in))
	c.errorGroup = append(c.errorGroup, nullText(sp.View.ErrorGroup))
	c.outPreview = append(c.outPreview, nullText(out))
	c.promptVersion = append(c.promptVersion, promptVersion(sp))
}

// promptVersion is what the prompt_version column (migrations 0015, 0020)
// holds for a span: store.PromptVersionColumn, NULL when it has none.
func promptVersion(sp *span.Span) pgtype.Text {
	v, ok := store.PromptVersionColumn(sp)
	if !ok {
		return pgtype.Text{}
	}
	return pgtype.Text{String: text(v), Valid: true}
}

// ioValue keeps "absent" and "empty string" apart for input and output values.
func ioValue(a span.Attributes, key, value string) pgtype.Text {
	if value != "" {
		return pgtype.Text{String: text(value), Valid: true}
	}
	_, ok := a.Get(key)
	return pgtype.Text{Valid: ok}
}

// nullJSON is a JSON document, or NULL for "".
func nullJSON(doc string) pgtype.Text {
	if doc == "" {
		return pgtype.Text{}
	}
	return pgtype.Text{String: jsonb(doc), Valid: true}
}

// batchWriter is one attempt at writing a batch.
type batchWriter struct {
	s   *Store
	b   *batch
	tx  pgx.Tx
	now int64
	res store.WriteResult

	projectIDs  map[string]int64
	newProjects map[string]int64 // read from the database in this transaction
	newOrigins  map[string]int64
	traces      map[string]*traceState
	fresh       []*span.Span // the batch's spans not stored before
	plan        *rollup.Plan // what the batch changes in the roll-ups
}

// traceState is what this transaction knows and changes of one trace.
type traceState struct {
	in                     *traceIn
	id, projectID, session int64
	sessionKey             string // the session's session_id, when it has one
	hadRoot                bool
	hadSpans               bool   // spans of it were stored before
	oldUser                string // its user before, "" for none
	oldStart, oldEnd       int64
	oldTokens              span.TokenCounts
	oldCost                rollup.Cost
	oldInput, oldOutput    pgtype.Text  // root previews, read when a session may need them
	batch                  rollup.Trace // what the batch's new spans add
}

// stored is what the trace row held, as its session needs it.
func (t *traceState) stored() rollup.Stored {
	return rollup.Stored{InSession: t.session != 0, Session: t.sessionKey, Start: t.oldStart, End: t.oldEnd,
		Sums: rollup.Delta{Tokens: t.oldTokens, Cost: t.oldCost}, HasRoot: t.hadRoot,
		Input: t.oldInput.String, Output: t.oldOutput.String}
}

func (w *batchWriter) write(ctx context.Context) error {
	if err := w.resolveProjects(ctx); err != nil {
		return err
	}
	if err := w.lockTraces(ctx); err != nil {
		return err
	}
	if err := w.planRollups(ctx); err != nil {
		return err
	}
	inserted, err := w.insertSpans(ctx)
	if err != nil {
		return err
	}
	if len(inserted) != len(w.fresh) {
		// The traces are locked, so no other writer stores their spans:
		// one that did not lock them would make the plan wrong.
		return fmt.Errorf("insert spans: %d stored, %d expected: %w", len(inserted), len(w.fresh), errTraceVanished)
	}
	w.res.Inserted = len(inserted)
	w.res.Duplicates = w.b.dups + len(w.b.spans) - len(inserted)
	w.res.New = w.fresh
	w.res.Uncounted = w.plan.Uncounted()
	if err := w.markSpans(ctx); err != nil {
		return err
	}
	if err := w.updateTraces(ctx); err != nil {
		return err
	}
	if err := w.updateSessions(ctx); err != nil {
		return err
	}
	return w.finish(ctx, inserted)
}

// resolveProjects finds or creates the projects of the batch's traces,
// creating them in name order.
func (w *batchWriter) resolveProjects(ctx context.Context) error {
	w.projectIDs = map[string]int64{}
	var missing []string
	for _, t := range w.b.traces {
		if _, ok := w.projectIDs[t.project]; ok {
			continue
		}
		if id, ok := w.s.projects.get(t.project); ok {
			w.projectIDs[t.project] = id
			continue
		}
		w.projectIDs[t.project] = 0
		missing = append(missing, t.project)
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	if _, err := w.tx.Exec(ctx, `INSERT INTO projects (name, created_at, updated_at)
		SELECT name, $2, $2 FROM unnest($1::text[]) AS n(name) ORDER BY name
		ON CONFLICT (name) DO NOTHING`, missing, w.now); err != nil {
		return fmt.Errorf("create projects: %w", err)
	}
	rows, err := w.tx.Query(ctx, `SELECT name, id FROM projects WHERE name = ANY($1)`, missing)
	if err != nil {
		return fmt.Errorf("find projects: %w", err)
	}
	w.newProjects = map[string]int64{}
	if err := scanNameIDs(rows, w.newProjects); err != nil {
		return fmt.Errorf("find projects: %w", err)
	}
	for name, id := range w.newProjects {
		w.projectIDs[name] = id
	}
	return nil
}

func scanNameIDs(rows pgx.Rows, into map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return err
		}
		into[name] = id
	}
	return rows.Err()
}

// errTraceVanished marks a trace deleted between its upsert and its lock;
// the transaction is run again.
var errTraceVanished = errors.New("a trace was deleted while being written")

// lockTraces creates the batch's new traces and locks all of them, in trace
// id order, reading what the roll-ups start from.
func (w *batchWriter) lockTraces(ctx context.Context) error {
	n := len(w.b.traces)
	ids, projects, starts, ends := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, t := range w.b.traces {
		ids[i], projects[i], starts[i], ends[i] = t.traceID, w.projectIDs[t.project], t.start, t.end
	}
	_, err := w.tx.Exec(ctx, `INSERT INTO traces (project_id, trace_id, start_time, end_time)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])
		ON CONFLICT (trace_id) DO NOTHING`, projects, ids, starts, ends)
	if isForeignKeyViolation(err, "traces_project_id_fkey") {
		return errStaleProject
	}
	if err != nil {
		return fmt.Errorf("create traces: %w", err)
	}
	// Rows are locked as the sort emits them, so in trace id order. The
	// previews are only needed to offer a session its trace's earlier root:
	// a session met now, or one whose trace starts earlier with the batch
	// (rollup.Stored).
	rows, err := w.tx.Query(ctx, `SELECT t.trace_id, t.id, t.project_id, coalesce(t.session_rowid, 0), coalesce(se.session_id, ''),
			t.root_span_id IS NOT NULL, t.span_count > 0, coalesce(t.user_id, ''),
			t.start_time, t.end_time, t.prompt_tokens, t.completion_tokens, t.total_tokens, t.cost_total, t.unpriced_spans,
			CASE WHEN t.session_rowid IS NULL OR b.start_time < t.start_time THEN t.input_preview END,
			CASE WHEN t.session_rowid IS NULL OR b.start_time < t.start_time THEN t.output_preview END
		FROM unnest($1::text[], $2::bigint[]) AS b(trace_id, start_time)
			JOIN traces t ON t.trace_id = b.trace_id LEFT JOIN sessions se ON se.id = t.session_rowid
		ORDER BY t.trace_id FOR UPDATE OF t`, ids, starts)
	if err != nil {
		return fmt.Errorf("lock traces: %w", err)
	}
	defer rows.Close()
	w.traces = make(map[string]*traceState, n)
	byID := make(map[string]*traceIn, n)
	for _, t := range w.b.traces {
		byID[t.traceID] = t
	}
	for rows.Next() {
		var traceID string
		t := &traceState{}
		if err := rows.Scan(&traceID, &t.id, &t.projectID, &t.session, &t.sessionKey, &t.hadRoot, &t.hadSpans, &t.oldUser,
			&t.oldStart, &t.oldEnd, &t.oldTokens.Prompt, &t.oldTokens.Completion, &t.oldTokens.Total,
			&t.oldCost.Total, &t.oldCost.Unpriced, &t.oldInput, &t.oldOutput); err != nil {
			return fmt.Errorf("lock traces: %w", err)
		}
		t.in = byID[traceID]
		w.traces[traceID] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock traces: %w", err)
	}
	if len(w.traces) != n {
		return errTraceVanished
	}
	return nil
}

// spanInsert inserts a batch's spans as one statement over column arrays:
// re-sent spans are skipped by ON CONFLICT, and RETURNING names the new ones.
const spanInsert = `INSERT INTO spans (trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
		status_code, status_message, model_name, provider, session_id, user_id,
		input_value, input_mime_type, output_value, output_mime_type,
		prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
		attributes, events, links, otel_kind, trace_state, origin_id,
		cost_status, cost_total, cost_prompt, cost_completion, cost_details, cost_source, cost_entry, search, call_state,
		input_preview, output_preview, error_group, prompt_version)
	SELECT trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
		status_code, status_message, model_name, provider, session_id, user_id,
		input_value, input_mime_type, output_value, output_mime_type,
		prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
		attributes::jsonb, events::jsonb, links::jsonb, otel_kind, trace_state, origin_id,
		cost_status, cost_total, cost_prompt, cost_completion, cost_details, cost_source, cost_entry, search::tsvector, call_state,
		input_preview, output_preview, error_group, prompt_version
	FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
		$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
		$15::text[], $16::text[], $17::text[], $18::text[],
		$19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[],
		$25::text[], $26::text[], $27::text[], $28::int[], $29::text[], $30::bigint[],
		$31::text[], $32::float8[], $33::float8[], $34::float8[], $35::text[], $36::text[], $37::text[], $38::text[],
		$39::smallint[], $40::text[], $41::text[], $42::text[], $43::text[])
	AS u(trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
		status_code, status_message, model_name, provider, session_id, user_id,
		input_value, input_mime_type, output_value, output_mime_type,
		prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
		attributes, events, links, otel_kind, trace_state, origin_id,
		cost_status, cost_total, cost_prompt, cost_completion, cost_details, cost_source, cost_entry, search, call_state,
		input_preview, output_preview, error_group, prompt_version)
	ON CONFLICT (trace_rowid, span_id) DO NOTHING
	RETURNING id, trace_rowid, span_id`

// insertedSpan is a span this transaction stored, with its row id.
type insertedSpan struct {
	span  *span.Span
	rowID int64
}

func (w *batchWriter) insertSpans(ctx context.Context) ([]insertedSpan, error) {
	origins, err := w.originIDs(ctx)
	if err != nil {
		return nil, err
	}
	c := &w.b.cols
	n := len(w.b.spans)
	c.traceRowID, c.projectID, c.originID = make([]int64, n), make([]int64, n), make([]pgtype.Int8, n)
	c.callState = make([]pgtype.Int2, n)
	for i, sp := range w.b.spans {
		t := w.traces[sp.TraceID]
		// A span goes to its trace's project, whatever project it named.
		c.traceRowID[i], c.projectID[i] = t.id, t.projectID
		if st := w.plan.New[sp]; st != rollup.Unknown {
			c.callState[i] = pgtype.Int2{Int16: int16(st), Valid: true}
		}
		if o := w.b.spanOrigin[i]; o >= 0 {
			c.originID[i] = pgtype.Int8{Int64: origins[o], Valid: true}
		}
	}
	rows, err := w.tx.Query(ctx, spanInsert, c.traceRowID, c.projectID, c.spanID, c.parentID, c.name, c.kind, c.start, c.end,
		c.status, c.statusMessage, c.model, c.provider, c.session, c.user,
		c.input, c.inputMime, c.output, c.outputMime,
		c.prompt, c.completion, c.total, c.cacheRead, c.cacheWrite, c.reason,
		c.attrs, c.events, c.links, c.otelKind, c.tst, c.originID,
		c.costStatus, c.costTotal, c.costPrompt, c.costCompletion, c.costDetails, c.costSource, c.costEntry, c.search, c.callState,
		c.inPreview, c.outPreview, c.errorGroup, c.promptVersion)
	if err != nil {
		return nil, fmt.Errorf("insert spans: %w", err)
	}
	defer rows.Close()
	type stored struct {
		traceRowID int64
		spanID     string
	}
	byKey := make(map[stored]*span.Span, n)
	for i, sp := range w.b.spans {
		byKey[stored{c.traceRowID[i], c.spanID[i]}] = sp
	}
	inserted := make([]insertedSpan, 0, n)
	for rows.Next() {
		var r insertedSpan
		var k stored
		if err := rows.Scan(&r.rowID, &k.traceRowID, &k.spanID); err != nil {
			return nil, fmt.Errorf("insert spans: %w", err)
		}
		r.span = byKey[k]
		inserted = append(inserted, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insert spans: %w", err)
	}
	return inserted, nil
}

// originIDs returns the row id of each of the batch's origins, creating
// those not stored yet.
func (w *batchWriter) originIDs(ctx context.Context) ([]int64, error) {
	ids := make([]int64, len(w.b.origins))
	var hashes, resources, names, versions []string
	for i, o := range w.b.origins {
		if id, ok := w.s.origins.get(o.hash); ok {
			ids[i] = id
			continue
		}
		hashes = append(hashes, o.hash)
		resources = append(resources, o.resource)
		names = append(names, o.scopeName)
		versions = append(versions, o.scopeVersion)
	}
	if len(hashes) == 0 {
		return ids, nil
	}
	if _, err := w.tx.Exec(ctx, `INSERT INTO origins (hash, resource, scope_name, scope_version)
		SELECT h, r::jsonb, n, v FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(h, r, n, v)
		ON CONFLICT (hash) DO NOTHING`, hashes, resources, names, versions); err != nil {
		return nil, fmt.Errorf("store resources: %w", err)
	}
	rows, err := w.tx.Query(ctx, `SELECT hash, id FROM origins WHERE hash = ANY($1)`, hashes)
	if err != nil {
		return nil, fmt.Errorf("find resources: %w", err)
	}
	w.newOrigins = map[string]int64{}
	if err := scanNameIDs(rows, w.newOrigins); err != nil {
		return nil, fmt.Errorf("find resources: %w", err)
	}
	for i, o := range w.b.origins {
		if id, ok := w.newOrigins[o.hash]; ok {
			ids[i] = id
		}
	}
	return ids, nil
}

// changed returns the traces that received spans, in trace id order.
func (w *batchWriter) changed() []*traceState {
	var out []*traceState
	for _, in := range w.b.traces {
		if t := w.traces[in.traceID]; t.batch.Spans > 0 {
			out = append(out, t)
		}
	}
	return out
}

// updateTraces applies every changed trace's deltas in one statement; the
// rows are already locked.
func (w *batchWriter) updateTraces(ctx context.Context) error {
	changed := w.changed()
	if len(changed) == 0 {
		return nil
	}
	n := len(changed)
	ints := make([][]int64, 13)
	for i := range ints {
		ints[i] = make([]int64, n)
	}
	floats := make([][]float64, 3)
	for i := range floats {
		floats[i] = make([]float64, n)
	}
	texts := make([][]pgtype.Text, 7)
	for i := range texts {
		texts[i] = make([]pgtype.Text, n)
	}
	for i, t := range changed {
		b := &t.batch
		tokens, cost := &b.Calls.Tokens, &b.Calls.Cost
		for j, v := range []int64{t.id, b.Start, b.End, b.Spans, b.Errors, b.LLMs,
			tokens.Prompt, tokens.Completion, tokens.Total, tokens.CacheRead, tokens.CacheWrite, tokens.Reasoning,
			cost.Unpriced} {
			ints[j][i] = v
		}
		floats[0][i], floats[1][i], floats[2][i] = cost.Total, cost.Prompt, cost.Completion
		texts[0][i] = nullText(b.UserID)
		if r := b.Root(t.hadRoot); r != nil {
			texts[1][i] = pgtype.Text{String: text(r.SpanID), Valid: true}
			texts[2][i] = pgtype.Text{String: text(r.Name), Valid: true}
			texts[3][i] = pgtype.Text{String: text(string(r.View.Kind)), Valid: true}
			texts[4][i] = pgtype.Text{String: text(string(r.StatusCode)), Valid: true}
			texts[5][i] = nullText(r.View.InputPreview)
			texts[6][i] = nullText(r.View.OutputPreview)
		}
	}
	// The sums of trace_minutes move in the same statement: the old rows as
	// this statement's snapshot holds them, less, and the new ones (as
	// RETURNING gives them), more; minutes are upserted in key order, as
	// every writer does, so that concurrent writers queue, not deadlock.
	_, err := w.tx.Exec(ctx, `WITH d AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
			$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],
			$14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
			$21::float8[], $22::float8[], $23::float8[])
		AS d(id, start_time, end_time, span_count, error_count, llm_span_count,
			prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
			unpriced_spans, user_id, root_span_id, root_name, root_kind, root_status, input_preview, output_preview,
			cost_total, cost_prompt, cost_completion)
	), old AS (
		SELECT -1 AS sign, t.project_id, t.start_time, t.end_time, t.span_count, t.error_count, t.root_status,
			t.prompt_tokens, t.completion_tokens, t.total_tokens, t.cache_read_tokens, t.reasoning_tokens,
			t.cost_total, t.unpriced_spans
		FROM traces t JOIN d ON t.id = d.id WHERE t.span_count > 0
	), new AS (
		UPDATE traces t SET
			start_time = least(t.start_time, d.start_time), end_time = greatest(t.end_time, d.end_time),
			span_count = t.span_count + d.span_count, error_count = t.error_count + d.error_count,
			llm_span_count = t.llm_span_count + d.llm_span_count,
			prompt_tokens = t.prompt_tokens + d.prompt_tokens, completion_tokens = t.completion_tokens + d.completion_tokens,
			total_tokens = t.total_tokens + d.total_tokens, cache_read_tokens = t.cache_read_tokens + d.cache_read_tokens,
			cache_write_tokens = t.cache_write_tokens + d.cache_write_tokens, reasoning_tokens = t.reasoning_tokens + d.reasoning_tokens,
			user_id = coalesce(t.user_id, d.user_id),
			root_span_id = coalesce(d.root_span_id, t.root_span_id),
			root_name = CASE WHEN d.root_span_id IS NULL THEN t.root_name ELSE d.root_name END,
			root_kind = CASE WHEN d.root_span_id IS NULL THEN t.root_kind ELSE d.root_kind END,
			root_status = CASE WHEN d.root_span_id IS NULL THEN t.root_status ELSE d.root_status END,
			input_preview = CASE WHEN d.root_span_id IS NULL THEN t.input_preview ELSE d.input_preview END,
			output_preview = CASE WHEN d.root_span_id IS NULL THEN t.output_preview ELSE d.output_preview END,
			cost_total = t.cost_total + d.cost_total, cost_prompt = t.cost_prompt + d.cost_prompt,
			cost_completion = t.cost_completion + d.cost_completion, unpriced_spans = t.unpriced_spans + d.unpriced_spans
		FROM d WHERE t.id = d.id
		RETURNING 1 AS sign, t.project_id, t.start_time, t.end_time, t.span_count, t.error_count, t.root_status,
			t.prompt_tokens, t.completion_tokens, t.total_tokens, t.cache_read_tokens, t.reasoning_tokens,
			t.cost_total, t.unpriced_spans
	)
	`+traceMinutesUpsert+` (SELECT * FROM old UNION ALL SELECT * FROM new) x`+traceMinutesUpsertEnd,
		ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], ints[6], ints[7], ints[8], ints[9], ints[10], ints[11], ints[12],
		texts[0], texts[1], texts[2], texts[3], texts[4], texts[5], texts[6], floats[0], floats[1], floats[2])
	if err != nil {
		return fmt.Errorf("update traces: %w", err)
	}
	return nil
}

// sessionUpsert attaches a trace to its session, creating the session on
// first sight, and moves the session's roll-ups by the trace's. $10 and $11
// are the root previews to offer the session, $12 the time they are from
// (NULL when there is nothing to offer): a session's first input is its
// earliest trace's root input, and its last output its latest trace's root
// output.
const sessionUpsert = `WITH s AS (
		INSERT INTO sessions AS se (project_id, session_id, start_time, end_time, trace_count,
			prompt_tokens, completion_tokens, total_tokens, user_id,
			first_input, first_input_time, last_output, last_output_time, cost_total, unpriced_spans)
		VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $10, $12, $11, $12, $13, $14)
		ON CONFLICT (session_id) DO UPDATE SET
			start_time = least(se.start_time, excluded.start_time), end_time = greatest(se.end_time, excluded.end_time),
			trace_count = se.trace_count + 1,
			prompt_tokens = se.prompt_tokens + excluded.prompt_tokens,
			completion_tokens = se.completion_tokens + excluded.completion_tokens,
			total_tokens = se.total_tokens + excluded.total_tokens,
			user_id = coalesce(se.user_id, excluded.user_id),
			cost_total = se.cost_total + excluded.cost_total, unpriced_spans = se.unpriced_spans + excluded.unpriced_spans,
			first_input = CASE WHEN excluded.first_input_time IS NOT NULL AND (se.first_input_time IS NULL OR se.first_input_time > excluded.first_input_time)
				THEN excluded.first_input ELSE se.first_input END,
			first_input_time = CASE WHEN excluded.first_input_time IS NOT NULL AND (se.first_input_time IS NULL OR se.first_input_time > excluded.first_input_time)
				THEN excluded.first_input_time ELSE se.first_input_time END,
			last_output = CASE WHEN excluded.last_output_time IS NOT NULL AND (se.last_output_time IS NULL OR se.last_output_time <= excluded.last_output_time)
				THEN excluded.last_output ELSE se.last_output END,
			last_output_time = CASE WHEN excluded.last_output_time IS NOT NULL AND (se.last_output_time IS NULL OR se.last_output_time <= excluded.last_output_time)
				THEN excluded.last_output_time ELSE se.last_output_time END
		RETURNING id)
	UPDATE traces SET session_rowid = (SELECT id FROM s) WHERE id = $9 RETURNING session_rowid`

// sessionUpdate moves an attached session's roll-ups by what a batch added
// to one of its traces, offering previews as sessionUpsert does.
const sessionUpdate = `UPDATE sessions SET
		start_time = least(start_time, $1), end_time = greatest(end_time, $2),
		prompt_tokens = prompt_tokens + $3, completion_tokens = completion_tokens + $4, total_tokens = total_tokens + $5,
		user_id = coalesce(user_id, $6), cost_total = cost_total + $11, unpriced_spans = unpriced_spans + $12,
		first_input = CASE WHEN $9::bigint IS NOT NULL AND (first_input_time IS NULL OR first_input_time > $9) THEN $7 ELSE first_input END,
		first_input_time = CASE WHEN $9::bigint IS NOT NULL AND (first_input_time IS NULL OR first_input_time > $9) THEN $9 ELSE first_input_time END,
		last_output = CASE WHEN $9::bigint IS NOT NULL AND (last_output_time IS NULL OR last_output_time <= $9) THEN $8 ELSE last_output END,
		last_output_time = CASE WHEN $9::bigint IS NOT NULL AND (last_output_time IS NULL OR last_output_time <= $9) THEN $9 ELSE last_output_time END
	WHERE id = $10`

// updateSessions applies the batch to the sessions of its traces, in
// session id order, in one round trip.
func (w *batchWriter) updateSessions(ctx context.Context) error {
	type change struct {
		t   *traceState
		c   rollup.SessionChange
		key string
	}
	var work []change
	for _, t := range w.changed() {
		stored := t.stored()
		c, ok := t.batch.Session(&stored)
		if !ok {
			continue
		}
		key := t.sessionKey
		if c.Joins {
			key = text(c.SessionID)
		}
		work = append(work, change{t, c, key})
	}
	if len(work) == 0 {
		return nil
	}
	slices.SortStableFunc(work, func(x, y change) int { return strings.Compare(x.key, y.key) })
	b := &pgx.Batch{}
	for _, u := range work {
		t, c := u.t, &u.c
		tokens, cost := &c.Delta.Tokens, &c.Delta.Cost
		input, output := nullText(c.Input.Text), nullText(c.Output.Text)
		// A trace offers its input and output together, as of its start.
		at := pgtype.Int8{Int64: c.Input.At, Valid: c.Input.Made}
		if !c.Joins {
			b.Queue(sessionUpdate, c.Start, c.End, tokens.Prompt, tokens.Completion, tokens.Total, nullText(c.UserID),
				input, output, at, t.session, cost.Total, cost.Unpriced)
			continue
		}
		b.Queue(sessionUpsert, t.projectID, u.key, c.Start, c.End, tokens.Prompt, tokens.Completion, tokens.Total,
			nullText(c.UserID), t.id, input, output, at, cost.Total, cost.Unpriced).QueryRow(func(row pgx.Row) error {
			return row.Scan(&t.session)
		})
	}
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("update sessions: %w", err)
	}
	return nil
}

// finish stores the annotations the new spans carried, adds the LLM spans
// to the usage roll-ups and moves the projects' last activity, in one round
// trip.
func (w *batchWriter) finish(ctx context.Context, inserted []insertedSpan) error {
	b := &pgx.Batch{}
	for _, r := range inserted {
		t := w.traces[r.span.TraceID]
		for _, f := range r.span.View.Feedback {
			if a, entity, ok := store.FeedbackAnnotation(f, r.rowID, t.id, t.session); ok {
				queueAnnotation(b, a, entity, w.now)
			}
		}
	}
	w.queueUsage(b)
	w.queueSpanMinutes(b, inserted)
	last := map[int64]int64{}
	for _, t := range w.changed() {
		last[t.projectID] = max(last[t.projectID], t.batch.End)
	}
	projects := make([]int64, 0, len(last))
	for id := range last {
		projects = append(projects, id)
	}
	slices.Sort(projects)
	for _, id := range projects {
		b.Queue(`UPDATE projects SET last_span_time = greatest(coalesce(last_span_time, 0), $1), updated_at = $2 WHERE id = $3`,
			last[id], w.now, id)
	}
	w.res.Projects = projects
	if b.Len() == 0 {
		return nil
	}
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store annotations, usage and project activity: %w", err)
	}
	return nil
}
