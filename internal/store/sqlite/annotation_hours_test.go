package sqlite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// The hourly annotation sums (migration 0022) are what summing the
// annotations as they are says, through every way an annotation changes:
// written, rewritten, deleted, its trace's start moving to another hour,
// its trace moved to another project, its span or trace deleted.
func TestAnnotationHoursFollowAnnotations(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	tid := func(i int) string { return fmt.Sprintf("%032x", i) }
	sid := func(i, j int) string { return fmt.Sprintf("%014x%02x", i, j) }
	mk := func(trace, id, parent int, start time.Duration) span.Span {
		sp := span.Span{Project: "hours", TraceID: tid(trace), SpanID: sid(trace, id), Name: "step",
			StartTime: base + int64(start), EndTime: base + int64(start) + int64(time.Second), StatusCode: span.StatusOK}
		if parent >= 0 {
			sp.ParentID = sid(trace, parent)
		}
		span.Normalize(&sp)
		return sp
	}
	// Twelve traces, each a root and two children, every 20 minutes
	// from 10:00; the roots come later, and trace 3's starts an hour before
	// its children.
	var children, roots []span.Span
	for i := range 12 {
		at := time.Duration(i) * 20 * time.Minute
		children = append(children, mk(i, 1, 0, at+time.Minute), mk(i, 2, 0, at+2*time.Minute))
		rootAt := at
		if i == 3 {
			rootAt = at - time.Hour
		}
		roots = append(roots, mk(i, 0, -1, rootAt))
	}
	if _, err := s.WriteSpans(ctx, children); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	labels := []string{"good", "bad", "meh"}
	annotate := func(n int) {
		var anns []store.Annotation
		for range n {
			a := store.Annotation{Name: []string{"quality", "tone"}[rng.IntN(2)], AnnotatorKind: "LLM",
				Identifier: []string{"", "a", "b"}[rng.IntN(3)]}
			if rng.IntN(3) > 0 {
				a.Label = &labels[rng.IntN(len(labels))]
			}
			if rng.IntN(3) > 0 {
				v := float64(rng.IntN(5)) / 4
				a.Score = &v
			}
			i := rng.IntN(12)
			if rng.IntN(2) == 0 {
				a.Kind, a.TraceID = store.TraceAnnotation, tid(i)
			} else {
				a.Kind, a.SpanID = store.SpanAnnotation, sid(i, 1+rng.IntN(2))
			}
			anns = append(anns, a)
		}
		if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
			t.Fatal(err)
		}
	}
	pid := func() int64 {
		p, err := s.ProjectByName(ctx, "hours")
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	annotate(60)
	checkAnnotationHours(t, s, "after the first annotations")
	annotate(60) // rewrites many of them
	checkAnnotationHours(t, s, "after rewriting")
	if _, err := s.WriteSpans(ctx, roots); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after the roots moved the traces' start")
	if _, err := s.DeleteAnnotations(ctx, store.AnnotationDelete{Kind: store.SpanAnnotation, ProjectID: pid(), Identifiers: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after deleting annotations")
	other, err := s.CreateProject(ctx, "hours-other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransferTraces(ctx, []string{tid(1), tid(2)}, other.ID); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after a transfer")
	root, err := s.SpanByID(ctx, sid(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpan(ctx, root.RowID); err != nil {
		t.Fatal(err)
	}
	child, err := s.SpanByID(ctx, sid(4, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpan(ctx, child.RowID); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after deleting spans")
	if err := s.DeleteTrace(ctx, tid(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteTraces(ctx, store.TraceDeletion{ProjectID: pid(), StartedBefore: base + int64(time.Hour), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after deleting traces")
	if err := s.DeleteProject(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	checkAnnotationHours(t, s, "after deleting a project")
}

// checkAnnotationHours compares annotation_name_hours and
// annotation_label_hours with the sums of the annotations as they are.
func checkAnnotationHours(t *testing.T, s *Store, when string) {
	t.Helper()
	ctx := context.Background()
	read := func(query string) map[string][]float64 {
		rows, err := s.read.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][]float64{}
		for rows.Next() {
			var key string
			v := make([]float64, 5)
			if err := rows.Scan(&key, &v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
				t.Fatal(err)
			}
			out[key] = v
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct{ table, fk, kind string }{
		{"span_annotations", "span_rowid", "span"}, {"trace_annotations", "trace_rowid", "trace"},
	} {
		// The entities' own project and start, not the annotations' copies.
		entity := map[string]string{"span": "spans", "trace": "traces"}[tc.kind]
		src := fmt.Sprintf(`SELECT a.name, a.%[2]s AS e, a.label, a.score, x.project_id AS project_id,
			x.start_time - ((x.start_time %% 3600000000000) + 3600000000000) %% 3600000000000 AS hour
			FROM %[1]s a JOIN %[3]s x ON x.id = a.%[2]s WHERE a.label IS NOT NULL OR a.score IS NOT NULL`, tc.table, tc.fk, entity)
		want := read(fmt.Sprintf(`SELECT project_id || '/' || name || '/' || hour, sum(n), count(*), sum(sc > 0), sum(coalesce(s, 0)), sum(nl > 0)
			FROM (SELECT project_id, name, hour, e, count(*) AS n, count(label) AS nl, count(score) AS sc, avg(score) AS s
				FROM (%s) GROUP BY project_id, name, hour, e) GROUP BY project_id, name, hour`, src))
		got := read(fmt.Sprintf(`SELECT project_id || '/' || name || '/' || hour, annotations, entities, scored, score_sum, labelled
			FROM annotation_name_hours WHERE kind = '%s'`, tc.kind))
		compareHours(t, when, tc.kind+" names", got, want)
		want = read(fmt.Sprintf(`SELECT a.project_id || '/' || a.name || '/' || a.hour || '/' || a.label, count(*), sum(1.0 / per.nl), 0, 0, 0
			FROM (%[1]s) a JOIN (SELECT e, name, count(label) AS nl FROM (%[1]s) GROUP BY e, name) per ON per.e = a.e AND per.name = a.name
			WHERE a.label IS NOT NULL GROUP BY a.project_id, a.name, a.hour, a.label`, src))
		got = read(fmt.Sprintf(`SELECT project_id || '/' || name || '/' || hour || '/' || label, annotations, share, 0, 0, 0
			FROM annotation_label_hours WHERE kind = '%s'`, tc.kind))
		compareHours(t, when, tc.kind+" labels", got, want)
	}
}

func compareHours(t *testing.T, when, what string, got, want map[string][]float64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: no %s to compare", when, what)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s %s missing, want %v", when, what, k, w)
			continue
		}
		for i := range w {
			if math.Abs(g[i]-w[i]) > 1e-9 {
				t.Errorf("%s: %s %s = %v, want %v", when, what, k, g, w)
				break
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s %s = %v, want no row", when, what, k, g)
		}
	}
}
