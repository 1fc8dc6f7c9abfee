package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// latencyTraces are one-span traces in project "lat": trace n starts at n
// seconds and lasts latencies[n-1] ms; traces 2 and 4 end in an error.
// Trace 5 shares trace 4's start and latency, so that pages have a tie to
// break by row id.
var latencies = []int64{100, 2500, 40, 1000, 1000}

func latencyAPI(t *testing.T) http.Handler {
	t.Helper()
	var spans []span.Span
	for i, l := range latencies {
		n := i + 1
		start := t0 + int64(min(n, 4))*1e9
		s := span.Span{Project: "lat", TraceID: hexID(n, 32), SpanID: hexID(n, 16), Name: "root",
			StartTime: start, EndTime: start + l*1e6, StatusCode: span.StatusOK,
			Attributes: span.Attributes{
				{Key: span.AttrSpanKind, Value: span.StringValue("CHAIN")},
				{Key: span.AttrInputValue, Value: span.StringValue("question " + string(rune('0'+n)))},
			}}
		if n == 2 || n == 4 {
			s.StatusCode = span.StatusError
		}
		span.Normalize(&s)
		spans = append(spans, s)
	}
	// Trace 1 gets an erroring child: an error anywhere in a trace counts.
	child := testSpan("lat", 1, 100, 1, span.KindLLM)
	child.StartTime, child.EndTime = t0+1e9+1e6, t0+1e9+2e6
	child.StatusCode = span.StatusError
	return newTestAPI(t, append(spans, child)...)
}

// traceNumbers lists the traces a GET answers, by their number, and the
// next page's cursor.
func traceNumbers(t *testing.T, h http.Handler, path string) ([]int, *string) {
	t.Helper()
	code, body := get(t, h, path)
	if code != 200 {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	var page struct {
		Data []struct {
			TraceID string `json:"trace_id"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	out := []int{}
	for _, d := range page.Data {
		var n int
		for _, c := range strings.TrimLeft(d.TraceID, "0") {
			n = n*16 + strings.IndexRune("0123456789abcdef", c)
		}
		out = append(out, n)
	}
	return out, page.NextCursor
}

func TestTraceErrorAndLatency(t *testing.T) {
	h := latencyAPI(t)
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{"", []int{5, 4, 3, 2, 1}},
		{"error=true", []int{4, 2, 1}},
		{"error=false", []int{5, 3}},
		{"error=yes", []int{4, 2, 1}},
		{"error=0", []int{5, 3}},
		{"min_latency_ms=1000", []int{5, 4, 2}},
		{"max_latency_ms=100", []int{3, 1}},
		{"min_latency_ms=100&max_latency_ms=1000", []int{5, 4, 1}},
		{"min_latency_ms=99.9999999&max_latency_ms=100.000001", []int{1}},
		{"min_latency_ms=100.0000001", []int{5, 4, 2}},
		{"min_latency_ms=1000000", []int{}},
		{"min_latency_ms=3000&max_latency_ms=1", []int{}},
		{"max_latency_ms=inf", []int{5, 4, 3, 2, 1}},
		{"error=true&min_latency_ms=500&sort=latency_ms&order=asc", []int{4, 2}},
		{"filter=error_count+>+0+and+latency_ms+<+2000", []int{4, 1}},
		{"filter=" + url.QueryEscape("'question 3' in input or num_spans == 2"), []int{3, 1}},
		{"filter=+&error=false", []int{5, 3}},
		{"filter=latency_ms+>=+1000&error=true", []int{4, 2}},
	} {
		got, _ := traceNumbers(t, h, "/v1/projects/lat/traces?"+tc.query)
		if !equalInts(got, tc.want) {
			t.Errorf("?%s: traces %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{"error=maybe", `error must be a boolean (true or false), got "maybe"`, 422},
		{"min_latency_ms=-1", `min_latency_ms must be greater than or equal to 0, got "-1"`, 422},
		{"max_latency_ms=fast", `max_latency_ms must be a number of milliseconds, got "fast"`, 422},
		{"include_spans=perhaps", `include_spans must be a boolean`, 422},
		{"filter=latncy_ms+>+1", "invalid trace filter: unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?", 400},
		{"filter=tool_span_count+>+0", "invalid trace filter: tool_span_count is not supported: Loupe keeps no count of TOOL spans per trace or session", 400},
		{"filter=" + url.QueryEscape("any(s.status_code == 'ERROR' for s in spans)"), "invalid trace filter: comprehensions over 'spans'", 400},
		{"filter=latency_ms+>", "invalid trace filter: expected a value after '>'", 400},
	} {
		code, body := get(t, h, "/v1/projects/lat/traces?"+tc.query)
		if code != tc.status || !strings.HasPrefix(body, tc.want) {
			t.Errorf("?%s = %d %q, want %d %q", tc.query, code, body, tc.status, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Pages follow Phoenix's cursor, which names the last trace of a page by
// its sort value: each page starts after it, in every sort and order, ties
// broken by row id.
func TestTraceCursor(t *testing.T) {
	h := latencyAPI(t)
	for _, tc := range []struct {
		query    string
		want     []int
		typ      string
		firstCur string // the decoded cursor of the first page
	}{
		{"", []int{5, 4, 3, 2, 1}, "DATETIME", "4:DATETIME:2024-05-01T10:00:04.000000+00:00"},
		{"order=asc", []int{1, 2, 3, 4, 5}, "DATETIME", "2:DATETIME:2024-05-01T10:00:02.000000+00:00"},
		{"sort=latency_ms", []int{2, 5, 4, 1, 3}, "FLOAT", "5:FLOAT:1000.0"},
		{"sort=latency_ms&order=asc", []int{3, 1, 4, 5, 2}, "FLOAT", "1:FLOAT:100.0"},
		{"sort=latency_ms&error=true", []int{2, 4, 1}, "FLOAT", "4:FLOAT:1000.0"},
	} {
		var got []int
		path := "/v1/projects/lat/traces?limit=2&" + tc.query
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("%s: no end to the pages", tc.query)
			}
			page, next := traceNumbers(t, h, path)
			got = append(got, page...)
			if next == nil {
				break
			}
			raw, err := base64.StdEncoding.DecodeString(*next)
			if err != nil || !strings.Contains(string(raw), ":"+tc.typ+":") {
				t.Fatalf("%s: next_cursor %q (%s) is not a %s cursor", tc.query, *next, raw, tc.typ)
			}
			if pages == 0 && string(raw) != tc.firstCur {
				t.Errorf("%s: first cursor %s, want %s", tc.query, raw, tc.firstCur)
			}
			path = "/v1/projects/lat/traces?limit=2&" + tc.query + "&cursor=" + url.QueryEscape(*next)
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%s: pages gave %v, want %v", tc.query, got, tc.want)
		}
	}
	byTime := sortCursor(4, cursorDatetime, "2024-05-01T10:00:04+00:00")
	for _, bad := range []string{
		"garbage",
		GlobalID("Trace", 4), // Phoenix's cursor before 20.5
		base64.StdEncoding.EncodeToString([]byte("4:FLOAT:nan")),
		base64.StdEncoding.EncodeToString([]byte("x:DATETIME:2024-05-01T10:00:04+00:00")),
		base64.StdEncoding.EncodeToString([]byte("4:DATETIME:yesterday")),
	} {
		code, body := get(t, h, "/v1/projects/lat/traces?sort=latency_ms&cursor="+url.QueryEscape(bad))
		if code != 422 || strings.TrimSpace(body) != "Invalid cursor" {
			t.Errorf("cursor %q = %d %q, want 422 Invalid cursor", bad, code, body)
		}
	}
	code, body := get(t, h, "/v1/projects/lat/traces?sort=latency_ms&cursor="+url.QueryEscape(byTime))
	if code != 422 || strings.TrimSpace(body) != "Invalid cursor" {
		t.Errorf("a start-time cursor with sort=latency_ms = %d %q, want 422 Invalid cursor", code, body)
	}
	// A cursor stays good when the trace it names is gone: it carries its place.
	got, _ := traceNumbers(t, h, "/v1/projects/lat/traces?cursor="+url.QueryEscape(sortCursor(99, cursorDatetime, "2024-05-01T10:00:03.5+00:00")))
	if !equalInts(got, []int{3, 2, 1}) {
		t.Errorf("after a vanished trace at 3.5 s: %v, want [3 2 1]", got)
	}
}

// Sub-microsecond start times and latencies keep their exact place in a
// cursor, though Phoenix's hold microseconds.
func TestCursorPrecision(t *testing.T) {
	for _, ns := range []int64{t0 + 1, t0 + 999, t0 + 123_456_789, t0} {
		id, v, err := parseSortCursor(timeCursor(7, ns), cursorDatetime)
		if err != nil || id != 7 || v != ns {
			t.Errorf("time cursor of %d reads back %d, %d, %v", ns, id, v, err)
		}
	}
	for _, ns := range []int64{0, 1, 1_000_000, 123_456_789, 1 << 50} {
		id, v, err := parseSortCursor(latencyCursor(7, ns), cursorFloat)
		if err != nil || id != 7 || v != ns {
			t.Errorf("latency cursor of %d reads back %d, %d, %v", ns, id, v, err)
		}
	}
}

func TestSessionFilter(t *testing.T) {
	h := newTestAPI(t,
		testSpan("s", 1, 1, 0, span.KindAgent, span.Attr{Key: span.AttrSessionID, Value: span.StringValue("a")},
			span.Attr{Key: span.AttrInputValue, Value: span.StringValue("refund please")}),
		testSpan("s", 2, 2, 0, span.KindAgent, span.Attr{Key: span.AttrSessionID, Value: span.StringValue("b")}),
		testSpan("s", 3, 3, 0, span.KindAgent, span.Attr{Key: span.AttrSessionID, Value: span.StringValue("b")}),
	)
	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"filter=num_traces+==+2", 200, `"session_id":"b"`},
		{"filter=" + url.QueryEscape("'refund' in first_input"), 200, `"session_id":"a"`},
		{"filter=", 200, `"session_id":"a"`},
		{"filter=nope(", 400, "invalid session filter: "},
		{"filter=error_count+>+0", 400, "invalid session filter: unknown name 'error_count'"},
		{"filter=" + url.QueryEscape("len([t for t in traces]) > 1"), 400, "invalid session filter: comprehensions over 'traces'"},
	} {
		code, body := get(t, h, "/v1/projects/s/sessions?"+tc.query)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("?%s = %d %s, want %d with %s", tc.query, code, body, tc.status, tc.want)
		}
	}
	_, body := get(t, h, "/v1/projects/s/sessions?filter=num_traces+==+2")
	if strings.Contains(body, `"session_id":"a"`) {
		t.Errorf("num_traces == 2 kept session a: %s", body)
	}
}

// TestSessionListTraces lists sessions with their traces, each session its
// own, oldest first, as the page's traces are read at once.
func TestSessionListTraces(t *testing.T) {
	sess := func(id string) span.Attr { return span.Attr{Key: span.AttrSessionID, Value: span.StringValue(id)} }
	h := newTestAPI(t,
		testSpan("s", 3, 3, 0, span.KindAgent, sess("b")),
		testSpan("s", 1, 1, 0, span.KindAgent, sess("a")),
		testSpan("s", 2, 2, 0, span.KindAgent, sess("b")),
		testSpan("s", 4, 4, 0, span.KindAgent),
	)
	code, body := get(t, h, "/v1/projects/s/sessions")
	if code != 200 {
		t.Fatalf("GET sessions = %d %s", code, body)
	}
	var got struct {
		Data []struct {
			SessionID string `json:"session_id"`
			Traces    []struct {
				TraceID string `json:"trace_id"`
			} `json:"traces"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	traces := map[string][]string{}
	for _, s := range got.Data {
		traces[s.SessionID] = []string{}
		for _, tr := range s.Traces {
			traces[s.SessionID] = append(traces[s.SessionID], tr.TraceID)
		}
	}
	want := map[string][]string{"a": {hexID(1, 32)}, "b": {hexID(2, 32), hexID(3, 32)}}
	if !reflect.DeepEqual(traces, want) {
		t.Errorf("sessions' traces = %v, want %v", traces, want)
	}
}

// TestTracesWithManySpans lists traces with include_spans, one of them of
// 3,000 spans: every span comes once, in start order, as Phoenix's
// TraceSpanData, read as the answer is written.
func TestTracesWithManySpans(t *testing.T) {
	const n = 3000
	spans := []span.Span{testSpan("wide", 1, 1, 0, span.KindAgent)}
	for i := 2; i <= n; i++ {
		s := testSpan("wide", 1, i, 1, span.KindTool)
		s.StartTime = t0 + int64(n-i)*1e6 // stored against start order
		spans = append(spans, s)
	}
	spans = append(spans, testSpan("wide", 2, n+1, 0, span.KindChain))
	h := newTestAPI(t, spans...)
	code, body := get(t, h, "/v1/projects/wide/traces?include_spans=true&sort=start_time&order=asc")
	if code != 200 {
		t.Fatalf("status %d: %.300s", code, body)
	}
	var doc struct {
		Data []struct {
			TraceID  string `json:"trace_id"`
			NumSpans int    `json:"num_spans"`
			Spans    []struct {
				ID         string  `json:"id"`
				SpanID     string  `json:"span_id"`
				ParentID   *string `json:"parent_id"`
				Name       string  `json:"name"`
				SpanKind   string  `json:"span_kind"`
				StatusCode string  `json:"status_code"`
				StartTime  string  `json:"start_time"`
				EndTime    string  `json:"end_time"`
			} `json:"spans"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if len(doc.Data) != 2 {
		t.Fatalf("%d traces, want 2", len(doc.Data))
	}
	wide := doc.Data[0]
	if wide.NumSpans != n || len(wide.Spans) != n {
		t.Fatalf("trace %s: num_spans %d and %d spans listed, want %d", wide.TraceID, wide.NumSpans, len(wide.Spans), n)
	}
	seen := map[string]bool{}
	for i, s := range wide.Spans {
		if seen[s.SpanID] || s.ID == "" || s.Name == "" || s.SpanKind == "" || s.StatusCode == "" || s.EndTime == "" {
			t.Fatalf("span %d: %+v (twice, or with a field missing)", i, s)
		}
		seen[s.SpanID] = true
		if i > 0 && s.StartTime < wide.Spans[i-1].StartTime {
			t.Fatalf("span %d starts at %s, before the span listed before it", i, s.StartTime)
		}
		if (s.ParentID == nil) != (s.SpanID == hexID(1, 16)) {
			t.Fatalf("span %s has parent %v", s.SpanID, s.ParentID)
		}
	}
	if len(doc.Data[1].Spans) != 1 {
		t.Errorf("second trace lists %d spans, want 1", len(doc.Data[1].Spans))
	}
}
