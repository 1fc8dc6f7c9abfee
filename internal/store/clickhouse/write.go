package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// text is s as ClickHouse's String keeps it and JSON readers can read it:
// valid UTF-8 (String holds any bytes, but the API and the UI would not).
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	t := text(s)
	return &t
}

func nullInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// traceState is what a write knows of one trace of its batch.
type traceState struct {
	id, projectID, session int64
	traceID, sessionKey    string
	exists, hadRoot        bool
	hadSpans               bool
	user                   string
	start, end             int64
	input, output          string
	root                   [4]string // span id, name, kind, status of the stored root
	batch                  rollup.Trace
	changed                bool // its row must be written again
}

// insertSettings make an insert durable on every shard before it returns
// (a Distributed table's inserts are otherwise queued on the node) and, with
// a token, make a retry of the same insert a no-op.
func insertCtx(ctx context.Context, token string) context.Context {
	settings := ch.Settings{"distributed_foreground_insert": 1, "insert_deduplicate": 1}
	if token != "" {
		settings["insert_deduplication_token"] = token
	}
	return ch.Context(ctx, ch.WithSettings(settings))
}

// WriteSpans stores spans and what the roll-ups need beyond them. ClickHouse
// has no transactions, so the writes are ordered to make a retry after any
// failure converge: the rows of traces and sessions (whole rows,
// versioned), then span states, then the spans themselves, whose presence
// is what marks the batch stored. Every row is keyed by the identity it
// describes, so writing it twice, or from two servers at once, leaves one;
// the sums are read from the spans and their states, never added up as
// deltas that a retry would add twice.
func (s *Store) WriteSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	if len(spans) == 0 {
		return store.WriteResult{}, nil
	}
	res, err := s.writeSpans(ctx, spans)
	if err != nil {
		return store.WriteResult{}, classify(ctx, fmt.Errorf("write %d spans: %w", len(spans), err))
	}
	return res, nil
}

func (s *Store) writeSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	now := nowNanos()
	uniq, dups := rollup.Unique(spans)
	traces := map[string]*traceState{}
	var order []*traceState
	for _, sp := range uniq {
		if traces[sp.TraceID] == nil {
			t := &traceState{id: traceRowID(sp.TraceID), traceID: sp.TraceID}
			traces[sp.TraceID] = t
			order = append(order, t)
		}
	}
	slices.SortFunc(order, func(x, y *traceState) int { return strings.Compare(x.traceID, y.traceID) })
	if err := s.readTraces(ctx, traces); err != nil {
		return store.WriteResult{}, err
	}
	// A new trace takes the project of its first span.
	var names []string
	for _, sp := range uniq {
		if t := traces[sp.TraceID]; !t.exists && t.projectID == 0 {
			t.projectID = -1
			names = append(names, text(sp.Project))
		}
	}
	ids, err := s.ensureProjects(ctx, names, now)
	if err != nil {
		return store.WriteResult{}, err
	}
	for _, sp := range uniq {
		if t := traces[sp.TraceID]; t.projectID == -1 {
			t.projectID = ids[text(sp.Project)]
		}
	}
	stored, err := s.storedSpans(ctx, uniq, traces)
	if err != nil {
		return store.WriteResult{}, err
	}
	var fresh []*span.Span
	for _, sp := range uniq {
		if !stored[spanRowID(sp.TraceID, sp.SpanID)] {
			fresh = append(fresh, sp)
			traces[sp.TraceID].batch.Add(sp)
		}
	}
	res := store.WriteResult{Inserted: len(fresh), Duplicates: dups + len(uniq) - len(fresh), New: fresh}
	if len(fresh) == 0 {
		res.Uncounted = map[*span.Span]bool{}
		return res, nil
	}
	info := func(traceID string) rollup.TraceInfo {
		t := traces[traceID]
		ti := rollup.TraceInfo{Project: t.projectID, Fresh: !t.hadSpans, UserBefore: t.user, User: t.user}
		if ti.User == "" {
			ti.User = t.batch.UserID
		}
		return ti
	}
	plan, err := rollup.NewPlan(fresh, info, &storedTree{ctx: ctx, s: s, traces: traces}, text)
	if err != nil {
		return store.WriteResult{}, fmt.Errorf("count model calls: %w", err)
	}
	for id, d := range plan.Traces {
		traces[id].batch.Calls = *d
	}
	res.Uncounted = plan.Uncounted()

	sessions, err := s.sessionChanges(ctx, order, now)
	if err != nil {
		return store.WriteResult{}, err
	}
	// The rows that describe the spans go first, at once (each insert is
	// a round trip); the spans, which mark the batch stored, after them.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.insertTraces(gctx, order, now) })
	g.Go(func() error { return s.insertSessions(gctx, sessions, now) })
	g.Go(func() error { return s.insertStates(gctx, plan, traces, now) })
	g.Go(func() error { return s.insertFeedback(gctx, fresh, traces) })
	if err := g.Wait(); err != nil {
		return store.WriteResult{}, err
	}
	if err := s.insertSpans(ctx, fresh, traces, plan, now); err != nil {
		return store.WriteResult{}, err
	}
	projects := map[int64]bool{}
	for _, t := range order {
		if t.batch.Spans > 0 {
			projects[t.projectID] = true
		}
	}
	for id := range projects {
		res.Projects = append(res.Projects, id)
	}
	slices.Sort(res.Projects)
	return res, nil
}

func inList(ids []int64) string {
	b := make([]byte, 0, len(ids)*20)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	if len(b) == 0 {
		return "0"
	}
	return string(b)
}

// readTraces reads what is stored of the batch's traces: their rows and
// their summed roll-ups.
func (s *Store) readTraces(ctx context.Context, traces map[string]*traceState) error {
	byID := map[int64]*traceState{}
	var ids []int64
	for _, t := range traces {
		byID[t.id] = t
		ids = append(ids, t.id)
	}
	rows, err := s.conn.Query(ctx, `SELECT id, project_id, session_rowid, session_id, ifNull(user_id, ''),
			root_span_id IS NOT NULL, ifNull(root_span_id, ''), ifNull(root_name, ''), ifNull(root_kind, ''), ifNull(root_status, ''),
			ifNull(input_preview, ''), ifNull(output_preview, '')
		FROM traces FINAL WHERE id IN (`+inList(ids)+`)`)
	if err != nil {
		return fmt.Errorf("read traces: %w", err)
	}
	for rows.Next() {
		var id int64
		var r traceState
		if err := rows.Scan(&id, &r.projectID, &r.session, &r.sessionKey, &r.user, &r.hadRoot,
			&r.root[0], &r.root[1], &r.root[2], &r.root[3], &r.input, &r.output); err != nil {
			rows.Close()
			return fmt.Errorf("read traces: %w", err)
		}
		t := byID[id]
		t.exists = true
		t.projectID, t.session, t.sessionKey, t.user, t.hadRoot = r.projectID, r.session, r.sessionKey, r.user, r.hadRoot
		t.root, t.input, t.output = r.root, r.input, r.output
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read traces: %w", err)
	}
	rows, err = s.conn.Query(ctx, `SELECT trace_rowid, min(start_time), max(end_time)
		FROM trace_stats WHERE trace_rowid IN (`+inList(ids)+`) GROUP BY trace_rowid`)
	if err != nil {
		return fmt.Errorf("read trace roll-ups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, start, end int64
		if err := rows.Scan(&id, &start, &end); err != nil {
			return fmt.Errorf("read trace roll-ups: %w", err)
		}
		t := byID[id]
		t.start, t.end, t.hadSpans = start, end, true
	}
	return rows.Err()
}

// storedSpans returns the row ids of the batch's spans already stored.
func (s *Store) storedSpans(ctx context.Context, spans []*span.Span, traces map[string]*traceState) (map[int64]bool, error) {
	var ids, traceIDs []int64
	seen := map[int64]bool{}
	for _, sp := range spans {
		t := traces[sp.TraceID]
		if !t.hadSpans {
			continue
		}
		ids = append(ids, spanRowID(sp.TraceID, sp.SpanID))
		if !seen[t.id] {
			seen[t.id] = true
			traceIDs = append(traceIDs, t.id)
		}
	}
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT id FROM spans WHERE trace_rowid IN (`+inList(traceIDs)+`) AND id IN (`+inList(ids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("find spans stored before: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// ensureProjects returns the ids of projects by name, creating those that do
// not exist. Two servers creating the same project write the same id.
func (s *Store) ensureProjects(ctx context.Context, names []string, now int64) (map[string]int64, error) {
	out := map[string]int64{}
	var missing []string
	s.mu.Lock()
	for _, n := range names {
		if id, ok := s.projects[n]; ok {
			out[n] = id
		} else if !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	byName, have, err := s.projectIDs(ctx, missing)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(missing))
	for i, n := range missing {
		ids[i] = byName[n]
	}
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO projects")
	if err != nil {
		return nil, fmt.Errorf("create projects: %w", err)
	}
	n := 0
	for i, name := range missing {
		if have[ids[i]] {
			continue
		}
		n++
		if err := batch.Append(ids[i], name, "", now, now, now, uint8(0)); err != nil {
			return nil, fmt.Errorf("create projects: %w", err)
		}
	}
	if n > 0 {
		if err := batch.Send(); err != nil {
			return nil, fmt.Errorf("create projects: %w", err)
		}
	} else {
		batch.Abort()
	}
	s.mu.Lock()
	for i, name := range missing {
		s.projects[name] = ids[i]
		out[name] = ids[i]
	}
	s.mu.Unlock()
	return out, nil
}

type sessionWrite struct {
	id, projectID int64
	key           string
	change        rollup.SessionChange
	// The session's row as stored, to write it again when it changes.
	exists                 bool
	user                   string
	firstInput, lastOutput rollup.Offer
	fromStore              bool
}

// sessionChanges works out what the batch changes in its traces' sessions,
// attaching traces that join one.
func (s *Store) sessionChanges(ctx context.Context, order []*traceState, now int64) ([]*sessionWrite, error) {
	byKey := map[string]*sessionWrite{}
	var out []*sessionWrite
	for _, t := range order {
		if t.batch.Spans == 0 {
			continue
		}
		var stored *rollup.Stored
		if t.hadSpans {
			stored = &rollup.Stored{InSession: t.session != 0, Session: t.sessionKey, Start: t.start, End: t.end,
				HasRoot: t.hadRoot, Input: t.input, Output: t.output}
		}
		c, ok := t.batch.Session(stored)
		if !ok {
			continue
		}
		key := text(c.SessionID)
		if c.Joins {
			t.session, t.sessionKey, t.changed = sessionRowID(key), key, true
		}
		w := byKey[key]
		if w == nil {
			w = &sessionWrite{id: sessionRowID(key), projectID: t.projectID, key: key, change: c}
			byKey[key] = w
			out = append(out, w)
		} else {
			w.change.Merge(&c)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(out))
	byID := map[int64]*sessionWrite{}
	for i, w := range out {
		ids[i] = w.id
		byID[w.id] = w
	}
	rows, err := s.conn.Query(ctx, `SELECT id, project_id, ifNull(user_id, ''), first_input IS NOT NULL OR first_input_time IS NOT NULL,
			ifNull(first_input, ''), ifNull(first_input_time, 0), last_output_time IS NOT NULL, ifNull(last_output, ''), ifNull(last_output_time, 0)
		FROM sessions FINAL WHERE id IN (`+inList(ids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, project int64
		var user string
		var fi, lo rollup.Offer
		if err := rows.Scan(&id, &project, &user, &fi.Made, &fi.Text, &fi.At, &lo.Made, &lo.Text, &lo.At); err != nil {
			return nil, fmt.Errorf("read sessions: %w", err)
		}
		w := byID[id]
		w.exists, w.projectID, w.user, w.firstInput, w.lastOutput = true, project, user, fi, lo
	}
	return out, rows.Err()
}

func (s *Store) insertSessions(ctx context.Context, sessions []*sessionWrite, now int64) error {
	if len(sessions) == 0 {
		return nil
	}
	rowsBatch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO sessions")
	if err != nil {
		return fmt.Errorf("store sessions: %w", err)
	}
	for _, w := range sessions {
		c := &w.change
		user := w.user
		if user == "" {
			user = c.UserID
		}
		fi, lo := w.firstInput, w.lastOutput
		fi.Earliest(c.Input)
		lo.Latest(c.Output)
		var fiText, loText *string
		var fiAt, loAt *int64
		if fi.Made {
			t, at := text(fi.Text), fi.At
			fiText, fiAt = &t, &at
		}
		if lo.Made {
			t, at := text(lo.Text), lo.At
			loText, loAt = &t, &at
		}
		if err := rowsBatch.Append(w.id, w.key, w.projectID, nullStr(user), fiText, fiAt, loText, loAt, now, uint8(0)); err != nil {
			return fmt.Errorf("store sessions: %w", err)
		}
	}
	if err := rowsBatch.Send(); err != nil {
		return fmt.Errorf("store sessions: %w", err)
	}
	return nil
}

// traceVersion orders the versions of a trace's row so that one that knows
// more wins over one that knows less, whatever their times: two servers
// writing spans of one trace at once each write the row as they found it
// plus their batch, and the later may lack the root or the session the
// earlier brought. Among rows that know as much, the latest wins. Times
// are cut to 8 ns steps, leaving the top bits for what a row knows.
func traceVersion(now int64, root, session, user bool) int64 {
	v := now >> 3
	if root {
		v |= 1 << 62
	}
	if session {
		v |= 1 << 61
	}
	if user {
		v |= 1 << 60
	}
	return v
}

// insertTraces writes again the row of every trace whose identity or root
// the batch changes.
func (s *Store) insertTraces(ctx context.Context, order []*traceState, now int64) error {
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO traces")
	if err != nil {
		return fmt.Errorf("store traces: %w", err)
	}
	n := 0
	for _, t := range order {
		if t.batch.Spans == 0 {
			continue
		}
		user := t.user
		if user == "" && t.batch.UserID != "" {
			user, t.changed = text(t.batch.UserID), true
		}
		root := t.root
		var rootSet bool
		input, output := t.input, t.output
		if r := t.batch.Root(t.hadRoot); r != nil {
			root = [4]string{text(r.SpanID), text(r.Name), string(r.View.Kind), string(r.StatusCode)}
			input, output, rootSet, t.changed = r.View.InputPreview, r.View.OutputPreview, true, true
		} else {
			rootSet = t.hadRoot
		}
		if t.exists && !t.changed {
			continue
		}
		start := t.batch.Start
		if t.hadSpans {
			start = min(start, t.start)
		}
		var r [4]*string
		var in, out *string
		if rootSet {
			for i := range root {
				v := root[i]
				r[i] = &v
			}
			in, out = nullStr(input), nullStr(output)
		}
		n++
		if err := batch.Append(t.id, text(t.traceID), t.projectID, t.session, t.sessionKey, start, nullStr(user),
			r[0], r[1], r[2], r[3], in, out, traceVersion(now, rootSet, t.session != 0, user != ""), uint8(0)); err != nil {
			return fmt.Errorf("store traces: %w", err)
		}
	}
	if n == 0 {
		return batch.Abort()
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store traces: %w", err)
	}
	return nil
}

func (s *Store) insertStates(ctx context.Context, plan *rollup.Plan, traces map[string]*traceState, now int64) error {
	if len(plan.Wrapped)+len(plan.Marked) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO span_states")
	if err != nil {
		return fmt.Errorf("count model calls: %w", err)
	}
	for _, set := range []struct {
		keys  []rollup.Key
		state rollup.State
	}{{plan.Wrapped, rollup.Wrapper}, {plan.Marked, rollup.Above}} {
		for _, k := range set.keys {
			if err := batch.Append(traces[k.TraceID].id, spanRowID(k.TraceID, k.SpanID), int8(set.state), now); err != nil {
				return fmt.Errorf("count model calls: %w", err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("count model calls: %w", err)
	}
	return nil
}

// ioValue keeps "absent" and "empty string" apart for input and output values.
func ioValue(a span.Attributes, key, value string) *string {
	if value != "" {
		t := text(value)
		return &t
	}
	if _, ok := a.Get(key); ok {
		empty := ""
		return &empty
	}
	return nil
}

func (s *Store) insertSpans(ctx context.Context, fresh []*span.Span, traces map[string]*traceState, plan *rollup.Plan, now int64) error {
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO spans")
	if err != nil {
		return fmt.Errorf("insert spans: %w", err)
	}
	var buf []byte
	for i, sp := range fresh {
		t := traces[sp.TraceID]
		v := &sp.View
		stored := sp.StoredJSON(&buf)
		cost := &v.Cost
		priced := cost.Status == span.CostPriced
		var ct, cp, cc *float64
		if priced {
			a, b, c := cost.Total, cost.Prompt, cost.Completion
			ct, cp, cc = &a, &b, &c
		} else {
			cost = &span.Cost{}
		}
		var state *int8
		if st := plan.New[sp]; st != rollup.Unknown {
			x := int8(st)
			state = &x
		}
		var resource *string
		if len(sp.Resource) > 0 {
			r := text(string(sp.Resource.AppendJSON(nil)))
			resource = &r
		}
		in, out := v.KeptPreviews()
		if err := batch.Append(spanRowID(sp.TraceID, sp.SpanID), t.id, t.projectID, text(sp.TraceID), text(sp.SpanID), nullStr(sp.ParentID),
			text(sp.Name), string(v.Kind), sp.StartTime, sp.EndTime, string(sp.StatusCode), text(sp.StatusMessage),
			nullStr(v.ModelName), nullStr(v.Provider), nullStr(v.SessionID), nullStr(v.UserID),
			ioValue(sp.Attributes, span.AttrInputValue, v.InputValue), nullStr(v.InputMimeType),
			ioValue(sp.Attributes, span.AttrOutputValue, v.OutputValue), nullStr(v.OutputMimeType),
			nullInt(v.Tokens.Prompt), nullInt(v.Tokens.Completion), nullInt(v.Tokens.Total),
			nullInt(v.Tokens.CacheRead), nullInt(v.Tokens.CacheWrite), nullInt(v.Tokens.Reasoning),
			text(stored.Attributes), nullStr(stored.Events), nullStr(stored.Links),
			int32(sp.OTelKind), nullStr(sp.TraceState), resource, text(sp.Scope.Name), text(sp.Scope.Version),
			nullStr(string(v.Cost.Status)), ct, cp, cc, nullStr(cost.Details), nullStr(cost.Source), nullStr(cost.Entry), state,
			nullStr(in), nullStr(out), now+int64(i), searchText(sp), nullStr(v.ErrorGroup)); err != nil {
			return fmt.Errorf("insert spans: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert spans: %w", err)
	}
	return nil
}

// CheckWritable inserts a row no reader sees and waits for ClickHouse to
// acknowledge it.
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO settings VALUES ('loupe.write_check', '', ?)", nowNanos())
	if err != nil {
		return classify(ctx, fmt.Errorf("check writable: %w", err))
	}
	return nil
}

// insertFeedback stores the annotations the new spans carried as
// attributes, before the spans: a batch retried after a failure finds the
// spans missing and writes the same annotations again, which replace these.
func (s *Store) insertFeedback(ctx context.Context, fresh []*span.Span, traces map[string]*traceState) error {
	var anns []store.Annotation
	var rows []entityRow
	for _, sp := range fresh {
		t := traces[sp.TraceID]
		for _, f := range sp.View.Feedback {
			a, entity, ok := store.FeedbackAnnotation(f, spanRowID(sp.TraceID, sp.SpanID), t.id, t.session)
			if !ok {
				continue
			}
			a.SpanID, a.TraceID, a.SessionID = text(sp.SpanID), text(sp.TraceID), t.sessionKey
			anns = append(anns, a)
			rows = append(rows, entityRow{id: entity, project: t.projectID})
		}
	}
	if len(anns) == 0 {
		return nil
	}
	if _, err := s.writeAnnotations(ctx, anns, rows); err != nil {
		return fmt.Errorf("store annotations: %w", err)
	}
	return nil
}
