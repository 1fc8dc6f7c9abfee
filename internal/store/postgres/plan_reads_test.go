package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// planStore is a store holding 3,000 agent spans of project "plan", with a
// span and a trace annotation, and a trace in each of 20 others, its
// statistics refreshed; and the id of "plan".
func planStore(t *testing.T) (*Store, int64) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "plan", Project: "plan"}, gen.Spans(3000)), "").Spans
	for i := range 20 {
		other := agentgen.New(agentgen.Agent, uint64(i+2), time.Unix(1_750_000_000, 0))
		res := agentgen.Resource{ServiceName: "plan", Project: fmt.Sprintf("other-%02d", i)}
		spans = append(spans, otlp.Decode(agentgen.Traces(res, other.Trace().Spans), "").Spans...)
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	label := "good"
	if _, err := s.UpsertAnnotations(ctx, []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spans[0].SpanID, Name: "quality", Label: &label, AnnotatorKind: "HUMAN"},
		{Kind: store.TraceAnnotation, TraceID: spans[0].TraceID, Name: "quality", Label: &label, AnnotatorKind: "HUMAN"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE spans, traces, sessions, trace_minutes, span_minutes, span_annotations, trace_annotations"); err != nil {
		t.Fatal(err)
	}
	var projectID int64
	if err := s.pool.QueryRow(ctx, "SELECT id FROM projects WHERE name = 'plan'").Scan(&projectID); err != nil {
		t.Fatal(err)
	}
	return s, projectID
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

// scans lists the scans of a plan: the index each reads, with " alone"
// when it is an index-only scan, or "whole <table>" for a sequential scan.
func (n planNode) scans(out []string) []string {
	switch {
	case n.NodeType == "Seq Scan":
		out = append(out, "whole "+n.Relation)
	case n.NodeType == "Index Only Scan":
		out = append(out, n.IndexName+" alone")
	case n.IndexName != "":
		out = append(out, n.IndexName)
	}
	for _, c := range n.Plans {
		out = c.scans(out)
	}
	return out
}

// planScans lists the scans of the plan of sql, planned as the store's
// tables would be at scale: the tables here are small enough that reading
// them whole, or sorting them, is cheapest, so sequential scans and sorts
// are priced out, and a plan that still scans a table whole has no index
// to use.
func planScans(t *testing.T, s *Store, sql string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	var doc []byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// At scale a project's rows are too many to sort or to read whole.
		for _, set := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off"} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&doc)
	})
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(doc, &plans); err != nil {
		t.Fatal(err)
	}
	return plans[0].Plan.scans(nil)
}

// The project header, the home page and the metrics page sum a range's
// whole minutes from trace_minutes, and read the latency sample from
// traces_project_start alone; annotation summaries and score series read
// the annotations alone, as do document scores, looking up only their
// spans; a bounded filter lists its minutes from the
// primary key of span_minutes or trace_minutes.
func TestReadPlans(t *testing.T) {
	s, pid := planStore(t)
	const day = int64(24 * time.Hour)
	start := int64(1_750_000_000)*1e9 - day
	sums, sumArgs, lat, latArgs := projectStatsQueries(pid, start+30*1e9, 0)
	series, seriesArgs := traceBucketsQuery(pid, start, start+30*day, int64(time.Hour))
	spanAnn, _ := schema.AnnotationTableFor(store.SpanAnnotation)
	traceAnn, _ := schema.AnnotationTableFor(store.TraceAnnotation)
	spanSum, spanSumArgs := annotationSummaryQuery(spanAnn, store.SpanAnnotation, pid, start, 0)
	traceSum, traceSumArgs := annotationSummaryQuery(traceAnn, store.TraceAnnotation, pid, start, start+30*day)
	scores, scoreArgs := scoreSeriesQuery(pid, start, 0, int64(time.Hour))
	prompts, promptArgs := promptSampleQuery(pid, start, 0, store.PromptVersionSample)
	docScores, docScoreArgs := documentScoresQuery(pid, start, start+30*day)
	var spanCond, traceCond where
	f, err := query.Parse("latency_ms > 600000")
	if err != nil {
		t.Fatal(err)
	}
	if !minutesCondition(&spanCond, store.SpanQuery{ProjectID: pid, Filter: f}) {
		t.Fatal("latency_ms > 600000 does not bound spans")
	}
	spanMinutes, spanMinuteArgs := minutesQuery("span_minutes", pid, &spanCond, start, 0)
	if !traceMinutesCondition(&traceCond, store.TraceQuery{ProjectID: pid, Filter: f}) {
		t.Fatal("latency_ms > 600000 does not bound traces")
	}
	traceMinutes, traceMinuteArgs := minutesQuery("trace_minutes", pid, &traceCond, start, start+day)
	for _, tc := range []struct {
		name string
		sql  string
		args []any
		want []string // every scan of the plan, in any order
	}{
		// The traces of the part-minutes at either end, and the minutes between.
		{"project stats: sums", sums, sumArgs, []string{"traces_project_start", "trace_minutes_pkey"}},
		{"project stats: latencies", lat, latArgs, []string{"traces_project_start alone"}},
		{"trace series", series, seriesArgs, []string{"traces_project_start", "trace_minutes_pkey"}},
		{"span annotation summary", spanSum, spanSumArgs, []string{"span_annotations_project_start alone"}},
		{"trace annotation summary", traceSum, traceSumArgs, []string{"trace_annotations_project_start alone"}},
		{"score series", scores, scoreArgs, []string{"span_annotations_project_start alone"}},
		{"prompt version sample", prompts, promptArgs, []string{"spans_project_llm"}},
		{"document scores", docScores, docScoreArgs, []string{"document_annotations_project_start alone", "spans_pkey"}},
		{"span minutes of a filter", spanMinutes, spanMinuteArgs, []string{"span_minutes_pkey"}},
		{"trace minutes of a filter", traceMinutes, traceMinuteArgs, []string{"trace_minutes_pkey"}},
	} {
		got := planScans(t, s, tc.sql, tc.args...)
		// An index read more than once (a CTE's, both ends') counts once.
		slices.Sort(got)
		got = slices.Compact(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: scans %q, want %q\n%s", tc.name, got, want, tc.sql)
		}
	}
}

// The minutes' model filter is the same bit in Go and in SQL.
func TestModelBit(t *testing.T) {
	s, _ := planStore(t)
	for _, m := range []string{"gpt-4o", "gpt-4.1-2025-04-14", "claude-sonnet-4", "ünïcode", "x"} {
		var got int64
		if err := s.pool.QueryRow(context.Background(), "SELECT loupe_model_bit($1)", m).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := modelBit(m); got != want {
			t.Errorf("loupe_model_bit(%q) = %d, modelBit = %d", m, got, want)
		}
	}
}
