package storetest

import (
	"context"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testRootRule checks which span a trace takes as its root, and what its
// session takes from it. Of a batch, the root is the span without a parent
// that starts first, the first sent among those that start together; a
// root stored is kept. A session's first input is the root input of its
// earliest trace, and its last output the root output of its latest.
func testRootRule(t *testing.T, s store.Store) {
	ctx := context.Background()
	spec := func(trace, id, parent int, startMs int64, text string) spanSpec {
		return spanSpec{project: "roots", trace: trace, id: id, par: parent, name: text, kind: span.KindChain,
			startMs: startMs, durMs: 100, status: span.StatusOK, session: "roots", input: text + " in", output: text + " out"}
	}
	check := func(step string, n int, root int, text string, startMs int64) {
		t.Helper()
		tr := trace(t, s, n)
		if tr.RootSpanID != spanID(root) || tr.RootName != text || tr.InputPreview != text+" in" ||
			tr.OutputPreview != text+" out" || tr.StartTime != base+startMs*ms {
			t.Errorf("%s: trace %d = root %s %q, input %q, output %q, start %d ms; want root %s %q, start %d ms",
				step, n, tr.RootSpanID, tr.RootName, tr.InputPreview, tr.OutputPreview, (tr.StartTime-base)/ms,
				spanID(root), text, startMs)
		}
	}
	session := func(step, first, last string) {
		t.Helper()
		sess, err := s.Session(ctx, "roots")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if sess.FirstInput != first+" in" || sess.LastOutput != last+" out" {
			t.Errorf("%s: session's first input %q, last output %q; want %q, %q",
				step, sess.FirstInput, sess.LastOutput, first+" in", last+" out")
		}
	}

	// Two spans without a parent start together in each trace: the first
	// sent is the root, whether its id is the larger or the smaller.
	write(t, s, build(spec(1, 102, 101, 110, "child"), spec(1, 103, 0, 100, "one"), spec(1, 101, 0, 100, "one too"),
		spec(1, 104, 0, 150, "one later")))
	write(t, s, build(spec(2, 201, 0, 80, "two"), spec(2, 202, 0, 80, "two too")))
	check("one batch", 1, 103, "one", 100)
	check("one batch", 2, 201, "two", 80)
	session("two traces", "two", "one")

	// A span without a parent starting before the root does not take its
	// place; it makes the trace the session's earliest.
	write(t, s, build(spec(1, 105, 0, 50, "one earlier")))
	check("a later batch", 1, 103, "one", 50)
	session("a root's trace starts earlier", "one", "one")

	// So does a child that starts before its trace's root.
	write(t, s, build(spec(3, 301, 0, 30, "three")))
	session("a third trace", "three", "one")
	write(t, s, build(spec(2, 203, 201, 10, "early child")))
	check("a child", 2, 201, "two", 10)
	session("a trace starts earlier by a child", "two", "one")
	if sess, err := s.Session(ctx, "roots"); err != nil || sess.TraceCount != 3 {
		t.Errorf("session = %+v, %v; want 3 traces", sess, err)
	}
}
