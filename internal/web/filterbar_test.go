package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func TestFilterSpans(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	list := func(query string) string {
		t.Helper()
		return e.mustGet("/projects/support-bot/spans?" + query)
	}
	rows := func(body string) int { return strings.Count(body, "<tr data-href=") }

	body := list("filter=" + url.QueryEscape("span_kind == 'LLM' and latency_ms > 4000"))
	if n := rows(body); n != 1 {
		t.Errorf("slow LLM spans: %d rows, want 1 (the 4.2 s call)", n)
	}
	contains(t, "filtered spans", body, `value="span_kind == &#39;LLM&#39; and latency_ms &gt; 4000"`, "Spans that match", data(llmSpan))
	lacks(t, "filtered spans", body, `data-filter-error>`+"\n  <p>", data(badSpan))

	// Kind, roots and errors still apply, and the toolbar keeps the filter.
	body = list("filter=" + url.QueryEscape("latency_ms > 100") + "&kind=LLM&status=error")
	if n := rows(body); n != 1 || !strings.Contains(body, data(badSpan)) {
		t.Errorf("failing LLM spans over 100 ms: %d rows", n)
	}
	contains(t, "toolbar", body, `<input type="hidden" name="filter" value="latency_ms &gt; 100">`)

	// A misspelt name: the error with its column and hint, the list unfiltered.
	body = list("filter=" + url.QueryEscape("latncy_ms > 4000"))
	contains(t, "bad filter", body, "unknown name &#39;latncy_ms&#39;", "at column 1", "did you mean &#39;latency_ms&#39;?",
		`<mark>latncy_ms</mark> &gt; 4000`, `aria-invalid="true" data-error-column="1"`, "The filter is not applied")
	if n := rows(body); n != 5 {
		t.Errorf("with a bad filter: %d rows, want all 5", n)
	}

	// Annotations filter: only the annotated span.
	if _, err := e.store.UpsertAnnotations(context.Background(), []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: docSpan, Name: "relevance", Label: ptrTo("low"), AnnotatorKind: "LLM"}}); err != nil {
		t.Fatal(err)
	}
	body = list("filter=" + url.QueryEscape("annotations['relevance'].label == 'low'"))
	if n := rows(body); n != 1 || !strings.Contains(body, data(docSpan)) {
		t.Errorf("annotation filter: %d rows", n)
	}
	contains(t, "annotation chip", body, `<span class="an">relevance</span> <b>low</b>`)
}

func data(id string) string { return `data-id="` + id + `"` }

// TestFilterTraces: the Traces tab takes Phoenix's trace filter, over the
// roll-ups of each trace, with the span filter's errors and hints.
func TestFilterTraces(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now.Add(-2*time.Hour))...)
	other := agentRun("support-bot", traceIDn(2), "conv-2", now.Add(-time.Hour))
	other[0].Attributes = append(other[0].Attributes[:1], str("input.value", "Where is my parcel?"))
	e.write(other[:4]...) // without the failing call
	if err := e.store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query  string
		want, unwant []string
	}{
		{"errors", "filter=" + url.QueryEscape("error_count > 0"),
			[]string{data(agentTrace), "Traces that match", `aria-label="Sort"`, `data-grain="trace"`},
			[]string{data(traceIDn(2)), "The filter is not applied"}},
		{"root input", "filter=" + url.QueryEscape("'REFUND' in input"),
			[]string{data(agentTrace)}, []string{data(traceIDn(2))}},
		{"roll-ups, sorted", "filter=" + url.QueryEscape("num_spans >= 4 and llm_span_count > 0") + "&sort=latency&dir=asc",
			[]string{data(agentTrace), data(traceIDn(2)), `llm_span_count&#43;%3E&#43;0&amp;sort=latency" aria-current="true">Fastest`}, nil},
		{"a span filter's name", "filter=" + url.QueryEscape("status_code == 'ERROR'"),
			[]string{"unknown name &#39;status_code&#39;", "at column 1", "<mark>status_code</mark>",
				`aria-invalid="true" data-error-column="1"`, "The filter is not applied: the list shows every trace",
				data(agentTrace), data(traceIDn(2))}, nil},
		{"misspelt", "filter=" + url.QueryEscape("error_cont > 0"),
			[]string{"did you mean &#39;error_count&#39;?"}, nil},
		{"another grain's annotations", "filter=" + url.QueryEscape("annotations['x'].label == 'y'"),
			[]string{"use trace_annotations[...] for the trace&#39;s annotations"}, nil},
		{"search and filter", "q=refund&filter=" + url.QueryEscape("error_count > 0"),
			[]string{data(agentTrace), "Traces whose <b>root span</b> has the words, of those the traces that match the filter"},
			[]string{data(traceIDn(2)), `aria-label="Sort"`}},
		{"search, filtered out", "q=parcel&filter=" + url.QueryEscape("error_count > 0"),
			[]string{"No trace in this time range matches"}, []string{data(agentTrace), data(traceIDn(2))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := e.mustGet("/projects/support-bot?" + tc.query)
			contains(t, tc.name, body, tc.want...)
			lacks(t, tc.name, body, tc.unwant...)
		})
	}
}

// TestFilterSessions: the Sessions tab takes Phoenix's session filter.
func TestFilterSessions(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now.Add(-2*time.Hour))...)
	e.write(agentRun("support-bot", traceIDn(2), "conv-2", now.Add(-time.Hour))[:4]...)
	tests := []struct {
		name, filter string
		want, unwant []string
	}{
		{"with an error", "num_traces_with_error > 0",
			[]string{`data-id="conv-1"`, "Sessions that match", `data-grain="session"`, "num_traces_with_error &gt; 0"},
			[]string{`data-id="conv-2"`, `name="q"`}},
		{"none", "num_traces > 1", []string{"No session in this time range matches"}, []string{`data-id="conv-1"`}},
		{"a trace filter's name", "error_count > 0",
			[]string{"unknown name &#39;error_count&#39;", "The filter is not applied: the list shows every session",
				`data-id="conv-1"`, `data-id="conv-2"`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := e.mustGet("/projects/support-bot/sessions?filter=" + url.QueryEscape(tc.filter))
			contains(t, tc.name, body, tc.want...)
			lacks(t, tc.name, body, tc.unwant...)
		})
	}
}

func TestFilterPaging(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	var spans []span.Span
	for i := 1; i <= pageSize+5; i++ {
		start := now.Add(-time.Duration(i) * time.Minute)
		spans = append(spans, span.Span{Project: "p", TraceID: traceIDn(i), SpanID: traceIDn(i)[16:], Name: "req",
			StartTime: start.UnixNano(), EndTime: start.Add(2 * time.Second).UnixNano(),
			Attributes: span.Attributes{str(span.AttrSpanKind, "CHAIN")}})
	}
	e.write(spans...)
	for _, tab := range []string{"/projects/p", "/projects/p/spans"} {
		body := e.mustGet(tab + "?filter=" + url.QueryEscape("latency_ms >= 2000"))
		if n := strings.Count(body, "<tr data-href="); n != pageSize {
			t.Errorf("%s: first page has %d rows, want %d", tab, n, pageSize)
		}
		before, _, ok := strings.Cut(body, `" rel="next"`)
		if !ok {
			t.Fatalf("%s: no next page", tab)
		}
		next := html.UnescapeString(before[strings.LastIndex(before, `href="`)+len(`href="`):])
		if !strings.Contains(next, "filter=") || !strings.Contains(next, "cursor=") {
			t.Errorf("%s: next page %q loses the filter or has no cursor", tab, next)
		}
		body = e.mustGet(next)
		if n := strings.Count(body, "<tr data-href="); n != 5 {
			t.Errorf("%s: second page has %d rows, want 5", tab, n)
		}
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	if err := e.store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := e.mustGet("/projects/support-bot/spans?q=refund")
	contains(t, "search", body, `name="q" type="search" value="refund"`, "in the order received, newest first", data(rootSpan))
	lacks(t, "search", body, data(badSpan), "still being indexed")
	body = e.mustGet("/projects/support-bot/spans?q=" + url.QueryEscape("zebra crossing"))
	contains(t, "search, no match", body, "No spans match")
}

func TestCheckFilter(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		filter string
		want   string
	}{
		{"", `{"ok":true}`},
		{"span_kind == 'LLM'", `{"ok":true}`},
		{"  latncy_ms > 1", `{"ok":false,"column":3,"message":"unknown name 'latncy_ms'","hint":"did you mean 'latency_ms'?"}`},
		{"name ==", `{"ok":false,"column":8,"message":"expected a value after '=='"}`},
		{"error_count > 0", `{"ok":false,"column":1,"message":"unknown name 'error_count'","hint":"to compare with text, quote it: 'error_count'"}`},
		{"error_count > 0&grain=trace", `{"ok":true}`},
		{"num_traces_with_error > 0&grain=trace", `{"ok":false,"column":1,"message":"unknown name 'num_traces_with_error'","hint":"to compare with text, quote it: 'num_traces_with_error'"}`},
		{"num_traces_with_error > 0&grain=session", `{"ok":true}`},
		{"span_kind == 'LLM'&grain=other", `{"ok":true}`},
	}
	for _, tc := range tests {
		filter, grain, _ := strings.Cut(tc.filter, "&")
		code, body := e.get("/filter/check?filter=" + url.QueryEscape(filter) + "&" + grain)
		if code != 200 || strings.TrimSpace(body) != tc.want {
			t.Errorf("check %q = %d %s, want %s", tc.filter, code, body, tc.want)
		}
		var v struct{ OK bool }
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("check %q: not JSON: %v", tc.filter, err)
		}
	}
}

func TestErrMark(t *testing.T) {
	tests := []struct {
		expr string
		col  int
		want errMark
	}{
		{"latncy_ms > 4000", 1, errMark{"", "latncy_ms", " > 4000"}},
		{"a == 1 and llm.modle == 'x'", 12, errMark{"a == 1 and ", "llm.modle", " == 'x'"}},
		{"name ==", 8, errMark{Before: "name ==", At: " "}},
		{"x = 1", 3, errMark{"x ", "=", " 1"}},
		{"whole", 0, errMark{Before: "whole"}},
	}
	for _, tc := range tests {
		f := listFilter{Expr: tc.expr, Err: &query.Error{Column: tc.col, Msg: "m"}}
		if got := f.ErrMark(); got != tc.want {
			t.Errorf("ErrMark(%q, %d) = %+v, want %+v", tc.expr, tc.col, got, tc.want)
		}
	}
}

func TestListCursor(t *testing.T) {
	tests := []struct {
		in         string
		start, row int64
		pair       bool
	}{
		{"", 0, 0, false},
		{"42", 0, 42, false},
		{"1700000000000000000_42", 1700000000000000000, 42, true},
		{"x_42", 0, 0, false},
		{"-3", 0, 0, false},
	}
	for _, tc := range tests {
		start, row, pair := parseListCursor(tc.in)
		if start != tc.start || row != tc.row || pair != tc.pair {
			t.Errorf("parseListCursor(%q) = %d, %d, %v", tc.in, start, row, pair)
		}
	}
	if s := formatListCursor(5, 7); s != "5_7" {
		t.Errorf("formatListCursor = %q", s)
	}
}

func TestPyString(t *testing.T) {
	for in, want := range map[string]string{
		"correctness": `'correctness'`,
		"it's":        `'it\'s'`,
		`a\b`:         `'a\\b'`,
	} {
		got := pyString(in)
		if got != want {
			t.Errorf("pyString(%q) = %s, want %s", in, got, want)
		}
		// The literal reads back as the same text in the filter language.
		if err := query.Validate(fmt.Sprintf("annotations[%s].label == 'x'", got)); err != nil {
			t.Errorf("pyString(%q) = %s does not parse: %v", in, got, err)
		}
	}
}

// TestErrorsToggle: the Traces tab's errors toggle keeps the traces with a
// failed span, with or without a filter or search, and every ERRORS figure
// opens it.
func TestErrorsToggle(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now.Add(-2*time.Hour))...)
	e.write(agentRun("support-bot", traceIDn(2), "conv-2", now.Add(-time.Hour))[:4]...)
	if err := e.store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	errorsLink := `href="/projects/support-bot?errors=1&amp;range=24h"`
	tests := []struct {
		name, path   string
		want, unwant []string
	}{
		{"toggle", "/projects/support-bot?errors=1",
			[]string{data(agentTrace), `aria-current="true" data-errors-toggle>Errors`},
			[]string{data(traceIDn(2))}},
		{"off", "/projects/support-bot",
			[]string{data(agentTrace), data(traceIDn(2)), `href="/projects/support-bot?errors=1" data-errors-toggle>Errors`}, nil},
		{"with a filter", "/projects/support-bot?errors=1&filter=" + url.QueryEscape("num_spans >= 4"),
			[]string{data(agentTrace), "Traces that match"}, []string{data(traceIDn(2))}},
		{"filtered out", "/projects/support-bot?errors=1&filter=" + url.QueryEscape("num_spans > 10"),
			[]string{"No trace in this time range matches and failed"}, []string{data(agentTrace)}},
		{"with a search", "/projects/support-bot?errors=1&q=policy",
			[]string{data(agentTrace)}, []string{data(traceIDn(2))}},
		{"none failed", "/projects/support-bot?errors=1&range=15m",
			[]string{"No trace that started in this time range failed"}, nil},
		{"header, traces", "/projects/support-bot?range=24h&sort=latency&filter=" + url.QueryEscape("num_spans > 1"),
			[]string{`<a class="statlink" ` + errorsLink}, nil},
		{"header, spans", "/projects/support-bot/spans?range=24h&kind=LLM", []string{errorsLink}, nil},
		{"header, sessions", "/projects/support-bot/sessions?range=24h", []string{errorsLink}, nil},
		{"header, metrics", "/projects/support-bot/metrics?range=24h", []string{errorsLink}, nil},
		{"home", "/?range=24h", []string{errorsLink}, nil},
		{"tabs leave the filter", "/projects/support-bot/spans?filter=" + url.QueryEscape("span_kind == 'LLM'"),
			[]string{`<a href="/projects/support-bot">Traces</a>`, `<a href="/projects/support-bot/sessions">Sessions</a>`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := e.mustGet(tc.path)
			contains(t, tc.name, body, tc.want...)
			lacks(t, tc.name, body, tc.unwant...)
		})
	}
}
