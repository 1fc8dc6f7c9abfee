package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testSearchTrace: a search within a trace reads every span of it, names,
// input, output, attributes and exceptions, ignoring case, in start order,
// whether or not the full-text index has caught up.
func testSearchTrace(t *testing.T, s store.Store) {
	ctx := context.Background()
	specs := agentTrace("search", 7, 0, "", "")
	specs[1].input = "Which invoice mentions the Blue Umbrella?"
	specs[3].attrs = span.Attributes{{Key: "retrieval.documents.0.document.id", Value: span.StringValue("kb-umbrella-12")},
		{Key: "db.rows", Value: span.IntValue(4217)}}
	spans := build(specs...)
	spans[4].StatusMessage = "rate limited"
	spans[4].Events = []span.Event{{Name: "exception", Time: spans[4].EndTime, Attributes: span.Attributes{
		{Key: "exception.type", Value: span.StringValue("RateLimitError")},
		{Key: "exception.stacktrace", Value: span.StringValue("Traceback (most recent call last):\n  File \"agent.py\"\nRateLimitError: quota of \"gpt-4o\" used up")},
	}}}
	// Another trace holds the word too: it is not searched.
	other := build(agentTrace("search", 8, 0, "", "")...)
	other[0].Name = "umbrella"
	write(t, s, append(spans, other...))
	info, err := s.TraceInfo(ctx, traceID(7))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  []store.TraceMatch
		total int
	}{
		{"umbrella", []store.TraceMatch{
			{SpanID: spanID(702), Field: "input.value", Before: "Which invoice mentions the Blue ", Match: "Umbrella", After: "?"},
			{SpanID: spanID(704), Field: "retrieval.documents.0.document.id", Before: "kb-", Match: "umbrella", After: "-12"},
		}, 2},
		{"blue umbrella", []store.TraceMatch{{SpanID: spanID(702), Field: "input.value", Before: "Which invoice mentions the ", Match: "Blue Umbrella", After: "?"}}, 1},
		{"LLM.CHAT", []store.TraceMatch{{SpanID: spanID(702), Field: "name", Match: "llm.chat"}, {SpanID: spanID(705), Field: "name", Match: "llm.chat"}}, 2},
		{"4217", []store.TraceMatch{{SpanID: spanID(704), Field: "db.rows", Match: "4217"}}, 1},
		{"rate limited", []store.TraceMatch{{SpanID: spanID(705), Field: "status", Match: "rate limited"}}, 1},
		{`"gpt-4o" used`, []store.TraceMatch{{SpanID: spanID(705), Field: "exception: exception.stacktrace",
			Before: "…last): File \"agent.py\" RateLimitError: quota of ", Match: `"gpt-4o" used`, After: " up"}}, 1},
		{"ratelimiterror", []store.TraceMatch{{SpanID: spanID(705), Field: "exception: exception.stacktrace",
			Before: "…ceback (most recent call last): File \"agent.py\" ", Match: "RateLimitError", After: ": quota of \"gpt-4o\" used up"}}, 1},
		{"document.id", []store.TraceMatch{{SpanID: spanID(704), Field: "retrieval.documents.0.document.id", Before: "retrieval.documents.0.", Match: "document.id"}}, 1},
		{spanID(703), []store.TraceMatch{{SpanID: spanID(703), Field: "span id", Match: spanID(703)}}, 1},
		{"nowhere to be found", nil, 0},
	} {
		t.Run(c.query, func(t *testing.T) {
			got, total, err := store.SearchTrace(ctx, s.EachSpanText, info.RowID, c.query, 10)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" || total != c.total {
				t.Errorf("SearchTrace(%q) = %d in all (want %d), (-want +got):\n%s", c.query, total, c.total, diff)
			}
		})
	}
	// Beyond the limit, matches are counted, not returned.
	if got, total, err := store.SearchTrace(ctx, s.EachSpanText, info.RowID, "llm", 1); err != nil || len(got) != 1 || total != 2 {
		t.Errorf("SearchTrace(llm, limit 1) = %d matches, %d in all, %v; want 1 of 2", len(got), total, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", store.MaxTraceSearch+1)} {
		if _, _, err := store.SearchTrace(ctx, s.EachSpanText, info.RowID, bad, 10); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("SearchTrace(%q): %v, want ErrInvalidArgument", bad, err)
		}
	}
	// EachSpanText stops at the first error its function returns.
	stop := errors.New("stop")
	n := 0
	if err := s.EachSpanText(ctx, info.RowID, func(*store.SpanText) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachSpanText after an error: %v after %d spans, want stop after 1", err, n)
	}
}
