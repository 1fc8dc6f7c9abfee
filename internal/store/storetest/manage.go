package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func testProjectsCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, err := s.CreateProject(ctx, "new", "first description")
	if err != nil || p.Name != "new" || p.Description != "first description" || p.ID == 0 {
		t.Fatalf("CreateProject = %+v, %v", p, err)
	}
	if _, err := s.CreateProject(ctx, "new", ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("creating a taken name = %v, want ErrConflict", err)
	}
	if p, err = s.UpdateProject(ctx, p.ID, "second"); err != nil || p.Description != "second" {
		t.Errorf("UpdateProject = %+v, %v", p, err)
	}
	if _, err := s.UpdateProject(ctx, 9999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating an unknown project = %v, want ErrNotFound", err)
	}
	write(t, s, build(agentTrace("new", 1, 0, "s1", "")...))
	if _, err := s.UpsertAnnotations(ctx, []store.Annotation{{Kind: store.SpanAnnotation, SpanID: spanID(101), Name: "n", Label: ptr("l"), AnnotatorKind: "HUMAN"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	if _, err := s.Trace(ctx, traceID(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("trace of a deleted project: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a deleted project: %v, want ErrNotFound", err)
	}
	// The name is free again, and spans sent to it create it anew.
	write(t, s, build(agentTrace("new", 2, 0, "", "")...))
	if p2 := project(t, s, "new"); p2.ID == p.ID {
		t.Errorf("recreated project kept the deleted id %d", p.ID)
	}
}

func testDeleteTrace(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("d", 1, 0, "conv", "")...))
	write(t, s, build(agentTrace("d", 2, 2000, "conv", "")...))
	if err := s.DeleteTrace(ctx, traceID(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTrace(ctx, traceID(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice = %v, want ErrNotFound", err)
	}
	sess, err := s.Session(ctx, "conv")
	if err != nil {
		t.Fatal(err)
	}
	if sess.TraceCount != 1 || sess.Tokens.Total != 470 || sess.LastOutput != "answer 1" || sess.EndTime != base+1000*ms {
		t.Errorf("session after deleting a trace = %+v", sess)
	}
	spans, _ := s.Spans(ctx, store.SpanQuery{ProjectID: project(t, s, "d").ID})
	if len(spans) != 5 {
		t.Errorf("%d spans left, want 5", len(spans))
	}
	if err := s.DeleteTrace(ctx, traceID(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "conv"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session without traces is kept: %v", err)
	}
}

func testTransferTraces(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("from", 1, 0, "conv", "")...))
	write(t, s, build(agentTrace("other", 2, 0, "", "")...))
	to, err := s.CreateProject(ctx, "to", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransferTraces(ctx, []string{traceID(1), traceID(2)}, to.ID); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("transfer from two projects = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.TransferTraces(ctx, []string{traceID(9)}, to.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("transfer of an unknown trace = %v, want ErrNotFound", err)
	}
	n, err := s.TransferTraces(ctx, []string{traceID(1)}, to.ID)
	if err != nil || n != 1 {
		t.Fatalf("TransferTraces = %d, %v", n, err)
	}
	if tr := trace(t, s, 1); tr.ProjectID != to.ID {
		t.Errorf("trace project = %d, want %d", tr.ProjectID, to.ID)
	}
	spans, _ := s.Spans(ctx, store.SpanQuery{ProjectID: to.ID})
	if len(spans) != 5 {
		t.Errorf("%d spans in the destination, want 5", len(spans))
	}
	if sess, _ := s.Session(ctx, "conv"); sess.ProjectID != to.ID {
		t.Errorf("session project = %d, want %d", sess.ProjectID, to.ID)
	}
	// Later spans of a moved trace follow it.
	late := agentTrace("from", 1, 0, "", "")[0]
	late.id = 199
	late.par = 101
	write(t, s, build(late))
	if got, _ := s.Spans(ctx, store.SpanQuery{ProjectID: to.ID}); len(got) != 6 {
		t.Errorf("a late span of a moved trace landed elsewhere: %d spans in the destination", len(got))
	}
}

func testDeleteSession(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("ds", 1, 0, "conv", "")...))
	write(t, s, build(agentTrace("ds", 2, 0, "", "")...))
	if err := s.DeleteSession(ctx, "conv"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Trace(ctx, traceID(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("trace of a deleted session: %v", err)
	}
	if _, err := s.Trace(ctx, traceID(2)); err != nil {
		t.Errorf("trace outside the session was deleted: %v", err)
	}
	if err := s.DeleteSession(ctx, "conv"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice = %v, want ErrNotFound", err)
	}
}

// testDeleteSpan deletes spans one at a time, as DELETE /v1/spans/{id}
// does: children stay as orphans, the trace's roll-ups and its session's
// follow what is left, and the last span takes its trace with it.
func testDeleteSpan(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("ds", 1, 0, "conv", "u")...))
	write(t, s, build(agentTrace("ds", 2, 2000, "conv", "")...))
	pid := project(t, s, "ds").ID
	rowOf := func(id int) int64 {
		t.Helper()
		got, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, SpanIDs: []string{spanID(id)}})
		if err != nil || len(got) != 1 {
			t.Fatalf("span %d: %v, %v", id, got, err)
		}
		return got[0].RowID
	}
	del := func(id int) {
		t.Helper()
		if err := s.DeleteSpan(ctx, rowOf(id)); err != nil {
			t.Fatalf("delete span %d: %v", id, err)
		}
	}
	ann := store.Annotation{Kind: store.SpanAnnotation, SpanID: spanID(105), Name: "bad", Label: ptr("yes"), AnnotatorKind: "HUMAN"}
	if _, err := s.UpsertAnnotations(ctx, []store.Annotation{ann}); err != nil {
		t.Fatal(err)
	}

	// The erroring LLM call (300 + 50 tokens) goes.
	del(105)
	tr := trace(t, s, 1)
	if tr.SpanCount != 4 || tr.ErrorCount != 0 || tr.LLMSpanCount != 1 || tr.Tokens.Prompt != 100 || tr.Tokens.Total != 120 ||
		tr.RootSpanID != spanID(101) || tr.UserID != "u" || tr.EndTime != base+1000*ms {
		t.Errorf("trace after deleting its erroring LLM span = %+v", tr)
	}
	if sess, _ := s.Session(ctx, "conv"); sess.Tokens.Total != 120+470 || sess.TraceCount != 2 {
		t.Errorf("session after deleting an LLM span = %+v, want 590 tokens over 2 traces", sess)
	}
	if got, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid}); len(got) != 0 {
		t.Errorf("annotations of the deleted span remain: %+v", got)
	}
	if err := s.DeleteSpan(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting an unknown span: %v, want ErrNotFound", err)
	}

	// The tool span goes and its retriever child stays, an orphan.
	del(103)
	if got, _ := s.Spans(ctx, store.SpanQuery{ProjectID: pid, SpanIDs: []string{spanID(104)}}); len(got) != 1 || got[0].ParentID != spanID(103) {
		t.Errorf("the child of a deleted span = %+v, want it kept with its parent id", got)
	}

	// The root goes: no span of the trace is without a parent, so it has
	// no root, no user, and spans what is left.
	del(101)
	tr = trace(t, s, 1)
	if tr.SpanCount != 2 || tr.RootSpanID != "" || tr.InputPreview != "" || tr.UserID != "" ||
		tr.StartTime != base+10*ms || tr.EndTime != base+480*ms {
		t.Errorf("trace after deleting its root = %+v", tr)
	}

	// The last spans take the trace, then the session, with them.
	del(102)
	del(104)
	if _, err := s.Trace(ctx, traceID(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a trace without spans is kept: %v", err)
	}
	if sess, err := s.Session(ctx, "conv"); err != nil || sess.TraceCount != 1 || sess.FirstInput != "question 2" {
		t.Errorf("session after losing a trace = %+v, %v", sess, err)
	}
	for _, id := range []int{201, 202, 203, 204, 205} {
		del(id)
	}
	if _, err := s.Session(ctx, "conv"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session without traces is kept: %v", err)
	}

	// Of two spans without a parent, the other becomes the root.
	specs := agentTrace("ds", 3, 0, "", "")
	second := spanSpec{project: "ds", trace: 3, id: 310, name: "second.root", kind: span.KindChain, startMs: 500, durMs: 100,
		status: span.StatusOK, input: "again"}
	write(t, s, build(append(specs, second)...))
	del(301)
	tr = trace(t, s, 3)
	if tr.RootSpanID != spanID(310) || tr.RootName != "second.root" || tr.RootKind != "CHAIN" || tr.InputPreview != "again" || tr.SpanCount != 5 {
		t.Errorf("trace after deleting one of two roots = %+v", tr)
	}
}
