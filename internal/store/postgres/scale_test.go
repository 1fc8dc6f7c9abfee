package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// scaleProjects share the traces the scale test loads over 30 days: a busy
// project, a medium and a small one, whose pages are a small part of big
// tables, where a bad plan costs the most, and one that stopped sending
// after its first three days, whose newest rows are the oldest of all.
var scaleProjects = []struct {
	name  string
	share float64
	days  int // sends during the first days only; 0 for all 30
}{{"busy", 0.7, 0}, {"medium", 0.2, 0}, {"small", 0.05, 0}, {"quiet", 0.05, 3}}

const scaleDays = 30

// TestPlansAtScale loads LOUPE_TEST_POSTGRES_SCALE agent-shaped spans (for
// example 1000000) through WriteSpans, then checks that the plans of the hot
// read paths read spans, traces and sessions through indexes only, and times
// them. With LOUPE_TEST_POSTGRES_SCALE_REPORT set, it writes the timings as a
// Markdown table to that file.
func TestPlansAtScale(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("LOUPE_TEST_POSTGRES_SCALE"))
	if total <= 0 {
		t.Skip("LOUPE_TEST_POSTGRES_SCALE (a span count, e.g. 1000000) is not set")
	}
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var report strings.Builder
	fmt.Fprintf(&report, "Loaded %d agent-shaped spans, ", total)
	load(t, s, total, &report)
	if _, err := s.pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	var busy, small, quiet store.Project
	for name, p := range map[string]*store.Project{"busy": &busy, "small": &small, "quiet": &quiet} {
		if *p, err = s.ProjectByName(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	// Targets from the middle of the data, as a user paging or following
	// a link would reach.
	var traceRow, sessionRow, spanCursor, traceCursor int64
	var traceID, sessionID string
	mustScan(t, s.pool.QueryRow(ctx, `SELECT id, trace_id FROM traces WHERE project_id = $1 ORDER BY start_time
		OFFSET (SELECT count(*) / 2 FROM traces WHERE project_id = $1) LIMIT 1`, busy.ID), &traceRow, &traceID)
	mustScan(t, s.pool.QueryRow(ctx, `SELECT id, session_id FROM sessions WHERE project_id = $1 ORDER BY id
		OFFSET (SELECT count(*) / 2 FROM sessions WHERE project_id = $1) LIMIT 1`, busy.ID), &sessionRow, &sessionID)
	mustScan(t, s.pool.QueryRow(ctx, `SELECT id FROM spans WHERE project_id = $1 ORDER BY start_time DESC, id DESC OFFSET 2000 LIMIT 1`, busy.ID), &spanCursor)
	mustScan(t, s.pool.QueryRow(ctx, `SELECT id FROM traces WHERE project_id = $1 ORDER BY start_time DESC, id DESC OFFSET 500 LIMIT 1`, busy.ID), &traceCursor)
	var spanID string
	mustScan(t, s.pool.QueryRow(ctx, `SELECT span_id FROM spans WHERE trace_rowid = $1 ORDER BY id DESC LIMIT 1`, traceRow), &spanID)
	lastDay := time.Now().Add(-24 * time.Hour).UnixNano()
	filter := func(expr string) query.Expr {
		e, err := query.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	type query struct {
		name string
		sql  string
		args []any
	}
	q := func(name, sql string, args ...any) query { return query{name, sql, args} }
	spanList := func(name string, lq store.SpanListQuery) query {
		sql, args, err := spanListQuery(lq)
		if err != nil {
			t.Fatal(err)
		}
		return query{name, sql, args}
	}
	traceList := func(name string, tq store.TraceQuery) query {
		sql, args, err := tracesQuery(tq)
		if err != nil {
			t.Fatal(err)
		}
		return query{name, sql, args}
	}
	restSpans := func(name string, sq store.SpanQuery) query {
		sql, args, err := spansQuery(sq)
		if err != nil {
			t.Fatal(err)
		}
		return query{name, sql, args}
	}
	sessionList := func(name string, sq store.SessionQuery) query {
		sql, args, err := sessionsQuery(sq)
		if err != nil {
			t.Fatal(err)
		}
		return query{name, sql, args}
	}
	slow := int64(2000 * time.Millisecond)
	statsSums, sumArgs, statsLatencies, latArgs := projectStatsQueries(busy.ID, lastDay, 0)
	queries := []query{
		spanList("span list, first page", store.SpanListQuery{ProjectID: busy.ID, Limit: 50}),
		spanList("span list, a later page", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, Cursor: spanCursor}),
		spanList("span list, root spans", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, RootsOnly: true}),
		spanList("span list, errors", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, ErrorOnly: true}),
		spanList("span list, LLM spans", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, Kinds: []string{"LLM"}}),
		spanList("span list by cost", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SpanSortCost}),
		spanList("span list by cost, filter llm.model_name", store.SpanListQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SpanSortCost,
			Filter: filter("llm.model_name == 'gpt-4o-mini'")}),
		spanList("span list, small project", store.SpanListQuery{ProjectID: small.ID, Limit: 50}),
		spanList("span list, quiet project", store.SpanListQuery{ProjectID: quiet.ID, Limit: 50}),
		restSpans("REST spans, newest first", store.SpanQuery{ProjectID: busy.ID, Limit: 100}),
		restSpans("REST spans, quiet project", store.SpanQuery{ProjectID: quiet.ID, Limit: 100}),
		restSpans("REST spans of one kind", store.SpanQuery{ProjectID: busy.ID, Limit: 100, Kinds: []string{"RETRIEVER"}}),
		restSpans("REST spans of a trace (trace_id[])", store.SpanQuery{ProjectID: busy.ID, Limit: 100, TraceIDs: []string{traceID}}),
		restSpans("REST spans by span_id[]", store.SpanQuery{ProjectID: busy.ID, Limit: 100, SpanIDs: []string{spanID}}),
		restSpans("REST spans, filter trace_id == …", store.SpanQuery{ProjectID: busy.ID, Limit: 100, Filter: filter("trace_id == '" + traceID + "'")}),
		restSpans("REST spans, filter span_id == …", store.SpanQuery{ProjectID: busy.ID, Limit: 100, Filter: filter("span_id == '" + spanID + "'")}),
		traceList("trace list by start time", store.TraceQuery{ProjectID: busy.ID, Limit: 50}),
		traceList("trace list, a later page", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Cursor: traceCursor}),
		traceList("trace list by latency", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SortLatency}),
		traceList("trace list by cost", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SortCost}),
		traceList("trace list by tokens, last day", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SortTokens, StartTime: lastDay}),
		traceList("trace list by cost, errors only", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SortCost, Errors: store.ErrorsOnly}),
		traceList("trace list of a session", store.TraceQuery{ProjectID: busy.ID, Limit: 50, SessionIDs: []string{sessionID}}),
		traceList("trace list, small project", store.TraceQuery{ProjectID: small.ID, Limit: 50}),
		traceList("trace list, quiet project", store.TraceQuery{ProjectID: quiet.ID, Limit: 50}),
		traceList("trace list, errors only", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Errors: store.ErrorsOnly}),
		traceList("trace list, no errors", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Errors: store.NoErrors}),
		traceList("trace list by latency, over 2 s", store.TraceQuery{ProjectID: busy.ID, Limit: 50, Sort: store.SortLatency, MinLatency: &slow}),
		traceList("trace list, over 2 s", store.TraceQuery{ProjectID: busy.ID, Limit: 50, MinLatency: &slow}),
		traceList("trace list, filter error_count > 0 and latency_ms > 2000", store.TraceQuery{ProjectID: busy.ID, Limit: 50,
			Filter: filter("error_count > 0 and latency_ms > 2000")}),
		traceList("trace list, filter on the root span's input", store.TraceQuery{ProjectID: busy.ID, Limit: 50,
			Filter: filter("'refund' in input")}),
		q("trace detail: the trace", traceDetailQuery, traceID),
		q("trace detail: its spans", traceSpansQuery, traceRow),
		q("trace tree", traceTreeQuery, traceRow),
		q("session lookup", sessionLookupQuery, sessionID),
		sessionList("session list", store.SessionQuery{ProjectID: busy.ID, Limit: 50}),
		sessionList("session list, quiet project", store.SessionQuery{ProjectID: quiet.ID, Limit: 50}),
		sessionList("session list, filter num_traces_with_error > 0", store.SessionQuery{ProjectID: busy.ID, Limit: 50,
			Filter: filter("num_traces_with_error > 0")}),
		q("session's traces", sessionTracesQuery, sessionRow),
		q("project stats, last day: sums", statsSums, sumArgs...),
		q("project stats, last day: latencies", statsLatencies, latArgs...),
	}
	report.WriteString("\n| read path | median | plan (spans, traces, sessions) |\n|---|---|---|\n")
	for _, qu := range queries {
		plan := explain(t, s, qu.sql, qu.args)
		for _, table := range []string{"spans", "traces", "sessions"} {
			if strings.Contains(plan, "Seq Scan on "+table) {
				t.Errorf("%s: sequential scan of %s:\n%s", qu.name, table, plan)
			}
		}
		med := timeQuery(t, s, qu.sql, qu.args)
		fmt.Fprintf(&report, "| %s | %.2f ms | %s |\n", qu.name, float64(med.Microseconds())/1000, scans(plan))
	}
	measureMaintenance(t, s, busy.ID, &report)
	t.Log("\n" + report.String())
	if path := os.Getenv("LOUPE_TEST_POSTGRES_SCALE_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// load writes about total spans of traces spread evenly over the last 30
// days, the projects' traces interleaved as they arrive, 1000 spans per
// WriteSpans, and reports the rate.
func load(t *testing.T, s *Store, total int, report *strings.Builder) {
	ctx := context.Background()
	const batch = 1000
	const spansPerTrace = 7.3 // agentgen's mean
	begin := time.Now().Add(-scaleDays * 24 * time.Hour)
	step := time.Duration(float64(scaleDays*24*time.Hour) * spansPerTrace / float64(total))
	gens := make([]*agentgen.Generator, len(scaleProjects))
	pending := make([][]agentgen.Span, len(scaleProjects))
	for i := range gens {
		gens[i] = agentgen.New(agentgen.Agent, uint64(i+1), begin)
	}
	pick := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	written := 0
	flush := func(i int) {
		res := agentgen.Resource{ServiceName: scaleProjects[i].name, Project: scaleProjects[i].name}
		spans := otlp.Decode(agentgen.Traces(res, pending[i]), "").Spans
		pending[i] = pending[i][:0]
		if _, err := s.WriteSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		written += len(spans)
		if written/100_000 != (written-len(spans))/100_000 {
			t.Logf("%d spans written, %.0f spans/s", written, float64(written)/time.Since(start).Seconds())
		}
	}
	clock := begin
	for queued := 0; queued < total; clock = clock.Add(step) {
		i := project(pick.Float64(), clock.Sub(begin))
		tr := gens[i].Trace()
		tr = tr.Shifted(clock.Sub(tr.Spans[0].Start))
		pending[i] = append(pending[i], tr.Spans...)
		queued += len(tr.Spans)
		if len(pending[i]) >= batch {
			flush(i)
		}
	}
	for i := range pending {
		if len(pending[i]) > 0 {
			flush(i)
		}
	}
	el := time.Since(start)
	fmt.Fprintf(report, "about %d per WriteSpans, in %s: %.0f spans/s, generation and decoding included.\n",
		batch, el.Round(time.Second), float64(written)/el.Seconds())
}

// project picks the project of the trace starting at age since the first,
// by the projects' shares (u is uniform in [0, 1)).
func project(u float64, age time.Duration) int {
	for {
		for i, p := range scaleProjects {
			if u < p.share && (p.days == 0 || age < time.Duration(p.days)*24*time.Hour) {
				return i
			}
			u -= p.share
		}
		u = 0 // a quiet project's share goes to the first
	}
}

func mustScan(t *testing.T, row pgx.Row, dest ...any) {
	t.Helper()
	if err := row.Scan(dest...); err != nil {
		t.Fatal(err)
	}
}

func explain(t *testing.T, s *Store, sql string, args []any) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// scans lists the plan's scan nodes on Loupe's big tables.
func scans(plan string) string {
	var out []string
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
		for _, table := range []string{" on spans", " on traces", " on sessions"} {
			if i := strings.Index(line, table); i > 0 && strings.Contains(line[:i], "Scan") {
				end := strings.Index(line, "  (")
				if end < 0 {
					end = len(line)
				}
				out = append(out, strings.TrimSpace(line[:end]))
			}
		}
	}
	return strings.Join(slices.Compact(out), "; ")
}

// timeQuery runs a query 30 times, reading every row, and returns the
// median time; the first runs warm the cache and the statement.
func timeQuery(t *testing.T, s *Store, sql string, args []any) time.Duration {
	t.Helper()
	ctx := context.Background()
	var times []time.Duration
	for range 30 {
		start := time.Now()
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// measureMaintenance times the storage report and retention's batched
// deletes at this size.
func measureMaintenance(t *testing.T, s *Store, project int64, report *strings.Builder) {
	ctx := context.Background()
	start := time.Now()
	rep, err := s.StorageReport(ctx, store.StorageQuery{Now: time.Now().UnixNano(), Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(report, "\nStorage report (%d MiB of tables and indexes, %d traces, %d spans, 30 days of daily counts): %s.\n",
		rep.DatabaseBytes>>20, rep.Traces, rep.Spans, time.Since(start).Round(time.Millisecond))

	// Delete the oldest tenth of the busy project, as retention would.
	var cutoff int64
	mustScan(t, s.pool.QueryRow(ctx, `SELECT start_time FROM traces WHERE project_id = $1 ORDER BY start_time
		OFFSET (SELECT count(*) / 10 FROM traces WHERE project_id = $1) LIMIT 1`, project), &cutoff)
	var total store.Deleted
	batches := 0
	start = time.Now()
	for {
		del, err := s.DeleteTraces(ctx, store.TraceDeletion{ProjectID: project, StartedBefore: cutoff, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		total.Traces += del.Traces
		total.Spans += del.Spans
		total.Sessions += del.Sessions
		if del.Traces == 0 {
			break
		}
		batches++
	}
	el := time.Since(start)
	fmt.Fprintf(report, "Retention: deleted %d traces (%d spans, %d sessions) in %d transactions of at most 1000 traces in %s: %.0f spans/s, %s per transaction.\n",
		total.Traces, total.Spans, total.Sessions, batches, el.Round(time.Millisecond), float64(total.Spans)/el.Seconds(),
		(el / time.Duration(max(batches, 1))).Round(time.Millisecond))
}
