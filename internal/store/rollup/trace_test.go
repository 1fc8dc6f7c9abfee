package rollup

import (
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func traceSpan(id, parent string, start int64, input string) *span.Span {
	sp := &span.Span{TraceID: "t", SpanID: id, ParentID: parent, StartTime: start, EndTime: start + 10}
	sp.View.InputPreview, sp.View.OutputPreview, sp.View.SessionID = input, input+" out", "s"
	return sp
}

func TestTraceRoot(t *testing.T) {
	var tr Trace
	for _, sp := range []*span.Span{
		traceSpan("c", "b", 5, "child"), traceSpan("b", "", 10, "b"), traceSpan("a", "", 10, "a"), traceSpan("d", "", 20, "d"),
	} {
		tr.Add(sp)
	}
	if r := tr.Root(false); r == nil || r.SpanID != "b" {
		t.Errorf("root = %v, want b: the earliest without a parent, the first sent among equals", r)
	}
	if r := tr.Root(true); r != nil {
		t.Errorf("root of a trace with a root stored = %s, want none", r.SpanID)
	}
	if tr.Start != 5 || tr.End != 30 || tr.Spans != 4 {
		t.Errorf("trace = %+v", tr)
	}
}

func TestTraceSessionOffers(t *testing.T) {
	stored := func(inSession bool, start int64) *Stored {
		return &Stored{InSession: inSession, Session: "s", Start: start, End: start + 100, HasRoot: true, Input: "root", Output: "root out"}
	}
	for _, tc := range []struct {
		name   string
		stored *Stored
		spans  []*span.Span
		offer  string // the input offered, "" for none
		at     int64
	}{
		{"a new trace's root", nil, []*span.Span{traceSpan("a", "", 10, "a")}, "a", 10},
		{"a new trace without its root", nil, []*span.Span{traceSpan("c", "a", 10, "c")}, "", 0},
		{"a child, later", stored(true, 10), []*span.Span{traceSpan("c", "a", 20, "c")}, "", 0},
		{"a child, earlier", stored(true, 10), []*span.Span{traceSpan("c", "a", 5, "c")}, "root", 5},
		{"another root, later", stored(true, 10), []*span.Span{traceSpan("b", "", 20, "b")}, "", 0},
		{"another root, earlier", stored(true, 10), []*span.Span{traceSpan("b", "", 5, "b")}, "root", 5},
		{"joining the session", stored(false, 10), []*span.Span{traceSpan("c", "a", 20, "c")}, "root", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr Trace
			for _, sp := range tc.spans {
				tr.Add(sp)
			}
			c, ok := tr.Session(tc.stored)
			if !ok || c.SessionID != "s" {
				t.Fatalf("session = %+v, %v", c, ok)
			}
			want := Offer{Made: tc.offer != "", Text: tc.offer, At: tc.at}
			if c.Input != want {
				t.Errorf("input offered = %+v, want %+v", c.Input, want)
			}
			if c.Output.Made != want.Made || c.Output.At != want.At {
				t.Errorf("output offered = %+v, want one with the input", c.Output)
			}
		})
	}
}
