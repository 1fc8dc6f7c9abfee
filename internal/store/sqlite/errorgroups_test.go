package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

// Failures stored before error groups get theirs when the store opens:
// the same a new span gets.
func TestFillErrorGroups(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "eg", Project: "eg"}, gen.Spans(3000)), "").Spans
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, sp := range spans {
		if sp.View.ErrorGroup != "" {
			want[sp.SpanID] = sp.View.ErrorGroup
		}
	}
	if len(want) == 0 {
		t.Fatal("the generator made no failures")
	}
	if _, err := s.write.ExecContext(ctx, "UPDATE spans SET error_group = NULL"); err != nil {
		t.Fatal(err)
	}
	if err := s.fillErrorGroups(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.read.QueryContext(ctx, "SELECT span_id, coalesce(error_group, '') FROM spans WHERE status_code = 'ERROR' OR error_group IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, g string
		if err := rows.Scan(&id, &g); err != nil {
			t.Fatal(err)
		}
		got[id] = g
	}
	if len(got) != len(want) {
		t.Errorf("%d spans grouped, want %d", len(got), len(want))
	}
	for id, g := range want {
		if got[id] != g {
			t.Errorf("span %s: group %q after filling, %q when written", id, got[id], g)
		}
	}
}

// The error groups page reads the failed spans through their index alone:
// their counts, and the prompt versions of every one.
func TestErrorGroupsPlan(t *testing.T) {
	s, pid := planStore(t)
	plan := queryPlan(t, s, errorGroupCellsSQL, 0, int64(1e9), pid, 0, int64(2e18))
	if !strings.Contains(plan, "COVERING INDEX spans_project_errors") {
		t.Errorf("failures are not grouped from spans_project_errors alone:\n%s", plan)
	}
	plan = queryPlan(t, s, errorGroupVersionsSQL, pid, 0, int64(2e18))
	if !strings.Contains(plan, "COVERING INDEX spans_project_errors") {
		t.Errorf("the failures' prompt versions are not read from spans_project_errors alone:\n%s", plan)
	}
}
