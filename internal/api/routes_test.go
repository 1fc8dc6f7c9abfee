package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/span"
)

// spanPages follows next_cursor through GET …/spans?<query>&limit=2 and
// returns the span ids in the order served and the decoded cursors.
func spanPages(t *testing.T, h http.Handler, query string) (ids, cursors []string) {
	t.Helper()
	path := "/v1/projects/srt/spans?limit=2&" + query
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("%s: no end to the pages", query)
		}
		code, body := get(t, h, path)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
		var page struct {
			Data []struct {
				Name string `json:"name"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Data {
			ids = append(ids, d.Name)
		}
		if page.NextCursor == nil {
			return ids, cursors
		}
		raw, _ := base64.StdEncoding.DecodeString(*page.NextCursor)
		cursors = append(cursors, string(raw))
		path = "/v1/projects/srt/spans?limit=2&" + query + "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// Spans sort by row id (the default) or start time, either way, and the
// cursor names the next page's first span, as Phoenix 20.16 pages.
func TestSpanSort(t *testing.T) {
	// Received in the order a, b, c, d, e; started in the order d, b, e, a
	// and c, with b and e at the same time.
	var spans []span.Span
	for i, st := range []int64{40, 20, 50, 10, 20} {
		s := testSpan("srt", i+1, i+1, 0, span.KindChain)
		s.Name = string(rune('a' + i))
		s.StartTime, s.EndTime = t0+st*1e6, t0+st*1e6+1e6
		spans = append(spans, s)
	}
	h := newTestAPI(t)
	if code, body := send(t, h, "POST", "/v1/projects", `{"name":"srt"}`); code != 200 {
		t.Fatalf("create project = %d %s", code, body)
	}
	for _, s := range spans {
		code, body := send(t, h, "POST", "/v1/projects/srt/spans", uploadBody(s))
		if code != 202 {
			t.Fatalf("upload %s = %d %s", s.Name, code, body)
		}
	}
	for _, tc := range []struct {
		query, want  string
		cursorPrefix string
	}{
		{"", "edcba", "Span:"},
		{"order=asc", "abcde", "Span:"},
		{"sort=id&order=desc", "edcba", "Span:"},
		{"sort=start_time", "caebd", ":DATETIME:2024-05-01T10:00:00.020000+00:00"},
		{"sort=start_time&order=asc", "dbeac", ":DATETIME:2024-05-01T10:00:00.020000+00:00"},
		{"sort=start_time&order=asc&name=a&name=c&name=d", "dac", ":DATETIME:2024-05-01T10:00:00.050000+00:00"},
	} {
		ids, cursors := spanPages(t, h, tc.query)
		if got := strings.Join(ids, ""); got != tc.want {
			t.Errorf("?%s: spans %s, want %s", tc.query, got, tc.want)
		}
		if len(cursors) == 0 || !strings.Contains(cursors[0], tc.cursorPrefix) {
			t.Errorf("?%s: cursors %q, want the first to hold %s", tc.query, cursors, tc.cursorPrefix)
		}
	}
	byTime := url.QueryEscape(sortCursor(2, cursorDatetime, "2024-05-01T10:00:00.020000+00:00"))
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{"sort=start_time&cursor=" + url.QueryEscape(GlobalID("Span", 2)), "Invalid cursor", 422},
		{"sort=start_time&cursor=nonsense", "Invalid cursor", 422},
		{"cursor=" + byTime, "invalid cursor", 422},
		{"sort=latency", `sort must be id or start_time, got "latency"`, 422},
		{"order=sideways", `order must be asc or desc, got "sideways"`, 422},
		{"sort=start_time&cursor=" + byTime, `"name":"b"`, 200},
	} {
		code, body := get(t, h, "/v1/projects/srt/spans?"+tc.query)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("?%s = %d %s, want %d with %s", tc.query, code, body, tc.status, tc.want)
		}
	}
}

// uploadBody is s as POST …/spans takes it.
func uploadBody(s span.Span) string {
	b, _ := json.Marshal(map[string]any{"data": []any{map[string]any{
		"name": s.Name, "context": map[string]string{"trace_id": s.TraceID, "span_id": s.SpanID},
		"span_kind": "CHAIN", "start_time": isotime.Format(s.StartTime), "end_time": isotime.Format(s.EndTime),
		"status_code": "OK", "attributes": map[string]any{},
	}}})
	return string(b)
}

func TestDecisionSpans(t *testing.T) {
	h := newTestAPI(t, testSpan("dec", 1, 1, 0, span.KindDecision), testSpan("dec", 1, 2, 1, span.KindLLM))
	code, body := get(t, h, "/v1/projects/dec/spans?span_kind=DECISION")
	if code != 200 || !strings.Contains(body, `"span_kind":"DECISION"`) || strings.Contains(body, `"span_kind":"LLM"`) {
		t.Errorf("span_kind=DECISION = %d %s, want the DECISION span alone", code, body)
	}
}

// DELETE /v1/projects/{id}/traces deletes the traces that started in
// [start_time, end_time), with Phoenix's answers to what is wrong.
func TestDeleteProjectTraces(t *testing.T) {
	sess := func(id string) span.Attr { return span.Attr{Key: span.AttrSessionID, Value: span.StringValue(id)} }
	// Trace n starts n ms after t0 (10:00:00.00n).
	h := newTestAPI(t,
		testSpan("del", 1, 1, 0, span.KindAgent, sess("a")), testSpan("del", 2, 2, 0, span.KindAgent, sess("a")),
		testSpan("del", 3, 3, 0, span.KindAgent, sess("b")), testSpan("del", 4, 4, 0, span.KindAgent),
		testSpan("keep", 5, 5, 0, span.KindAgent))
	base := "/v1/projects/del/traces?"
	for _, tc := range []struct {
		method, query string
		status        int
		want          string
	}{
		{"DELETE", "start_time=2024-05-01T10:00:00.002Z", 422, "end_time is required"},
		{"DELETE", "end_time=2024-05-01T10:00:00.002Z", 422, "start_time is required"},
		{"DELETE", "start_time=2024-05-01T10:00:00.002Z&end_time=2024-05-01T10:00:00.002Z", 422, "`start_time` must be strictly earlier than `end_time`."},
		{"DELETE", "start_time=soon&end_time=2024-05-01T10:00:00.002Z", 422, "invalid datetime"},
		// Naive times are UTC; the start is inclusive, the end not.
		{"DELETE", "start_time=2024-05-01T10:00:00.002&end_time=2024-05-01T10:00:00.004", 204, ""},
		{"GET", "", 200, `"trace_id":"` + hexID(4, 32) + `"`},
	} {
		code, body := send(t, h, tc.method, base+tc.query, "")
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s ?%s = %d %q, want %d with %q", tc.method, tc.query, code, body, tc.status, tc.want)
		}
	}
	code, body := send(t, h, "DELETE", "/v1/projects/nope/traces?start_time=2024-01-01T00:00:00Z&end_time=2025-01-01T00:00:00Z", "")
	if code != 404 || strings.TrimSpace(body) != "Project with name nope not found" {
		t.Errorf("an unknown project = %d %q", code, body)
	}
	got, _ := traceNumbers(t, h, "/v1/projects/del/traces")
	if !equalInts(got, []int{4, 1}) {
		t.Errorf("traces left %v, want [4 1]", got)
	}
	if code, body := get(t, h, "/v1/sessions/b"); code != 404 {
		t.Errorf("session b, left without traces = %d %s, want it deleted", code, body)
	}
	if code, body := get(t, h, "/v1/sessions/a"); code != 200 || !strings.Contains(body, `"num_traces":1`) {
		t.Errorf("session a = %d %s, want one trace left", code, body)
	}
	if got, _ := traceNumbers(t, h, "/v1/projects/keep/traces"); !equalInts(got, []int{5}) {
		t.Errorf("another project's traces = %v", got)
	}
}

// DELETE /v1/spans/{span_identifier} takes a span id or a Span GlobalID
// and deletes the span alone; the trace's totals follow.
func TestDeleteSpan(t *testing.T) {
	h := newTestAPI(t,
		testSpan("ds", 1, 1, 0, span.KindAgent), testSpan("ds", 1, 2, 1, span.KindLLM,
			span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(30)}),
		testSpan("ds", 1, 3, 2, span.KindTool))
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/spans/" + hexID(99, 16), 404, "Span with span_id '" + hexID(99, 16) + "' not found"},
		{"/v1/spans/" + GlobalID("Span", 99), 404, "Span with relay ID '" + GlobalID("Span", 99) + "' not found"},
		{"/v1/spans/" + hexID(2, 16), 204, ""},
		{"/v1/spans/" + hexID(2, 16), 404, "not found"},
	} {
		code, body := send(t, h, "DELETE", tc.path, "")
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("DELETE %s = %d %q, want %d with %q", tc.path, code, body, tc.status, tc.want)
		}
	}
	_, body := get(t, h, "/v1/projects/ds/traces")
	if !strings.Contains(body, `"num_spans":2`) || !strings.Contains(body, `"token_count_prompt":0`) || !strings.Contains(body, `"llm_span_count":0`) {
		t.Errorf("trace after deleting its LLM span: %s", body)
	}
	_, body = get(t, h, "/v1/projects/ds/spans?span_id="+hexID(3, 16))
	if !strings.Contains(body, `"parent_id":"`+hexID(2, 16)+`"`) {
		t.Errorf("the deleted span's child: %s, want it kept with its parent id", body)
	}
	// By GlobalID: the tool span's row is the third.
	if code, body := send(t, h, "DELETE", "/v1/spans/"+GlobalID("Span", 3), ""); code != 204 {
		t.Fatalf("DELETE by GlobalID = %d %s", code, body)
	}
	if code, body := send(t, h, "DELETE", "/v1/spans/"+hexID(1, 16), ""); code != 204 {
		t.Fatalf("DELETE the last span = %d %s", code, body)
	}
	if got, _ := traceNumbers(t, h, "/v1/projects/ds/traces"); len(got) != 0 {
		t.Errorf("traces after deleting every span: %v, want none", got)
	}
}
