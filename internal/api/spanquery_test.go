package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// spanQuerySpans are an agent's root and its LLM call, in project "agent".
func spanQuerySpans() []span.Span {
	return []span.Span{testSpan("agent", 1, 1, 0, span.KindAgent), testSpan("agent", 1, 2, 1, span.KindLLM)}
}

// postSpanQuery sends a SpanQuery request as phoenix-client does.
func postSpanQuery(t *testing.T, h http.Handler, method, target, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestSpanQueryRequests checks the HTTP side of span queries: where the
// project comes from, what the client must accept, and the statuses of
// requests refused.
func TestSpanQueryRequests(t *testing.T) {
	h := newTestAPI(t, spanQuerySpans()...)
	llmOnly := `{"queries":[{"select":{"name":{"key":"name"}},"filter":{"condition":"span_kind == 'LLM'"}}]}`
	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		body       string
		wantStatus int
		wantInBody string
	}{
		{"project from project-name header", "POST", "/v1/spans", http.Header{"Project-Name": {"agent"}}, llmOnly, 200, `"1_name":"op-LLM"`},
		{"project from project-name parameter", "POST", "/v1/spans?project-name=agent", nil, llmOnly, 200, `"1_name":"op-LLM"`},
		{"query parameter wins over the body", "POST", "/v1/spans?project_name=nope",
			nil, `{"queries":[{}],"project_name":"agent"}`, 200, `"data":[]`},
		{"default project", "POST", "/v1/spans", nil, llmOnly, 200, `"data":[]`},
		{"project from the body", "POST", "/v1/spans", nil,
			`{"queries":[{"select":{"name":{"key":"name"}},"filter":{"condition":"span_kind == 'LLM'"}}],"project_name":"agent"}`, 200, `"1_name":"op-LLM"`},
		{"deprecated GET with a body", "GET", "/v1/spans?project_name=agent", nil, llmOnly, 200, `"1_name":"op-LLM"`},
		{"arrow only", "POST", "/v1/spans?project_name=agent",
			http.Header{"Accept": {"application/x-pandas-arrow"}}, llmOnly, 406, "application/json"},
		{"bad filter", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"filter":{"condition":"latncy_ms > 1"}}]}`, 422, "Invalid query: filter condition \"latncy_ms > 1\": unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?"},
		{"filter syntax error", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"filter":{"condition":"span_kind =="}}]}`, 422, "Invalid query: filter condition"},
		{"bad projection", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"x":{"key":"name == 'a'"}}}]}`, 422, `Invalid query: select["x"]: invalid expression`},
		{"cumulative counts are not selectable", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"x":{"key":"cumulative_llm_token_count_total"}}}]}`, 422, "filters only"},
		{"second query is named", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{},{"filter":{"condition":"nope("}}]}`, 422, "Invalid query 1:"},
		{"empty queries", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[]}`, 404, "queries list is empty"},
		{"missing queries", "POST", "/v1/spans?project_name=agent", nil, `{}`, 422, "queries field is required"},
		{"not JSON", "POST", "/v1/spans?project_name=agent", nil, `queries`, 422, "not valid JSON"},
		{"negative limit", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"limit":-1}`, 422, "limit must not be negative"},
		{"zero limit", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"limit":0}`, 200, `"data":[]`},
		{"bad time", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"start_time":"yesterday"}`, 422, "start_time: "},
		{"stop_time is end_time", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"n":{"key":"name"}}}],"stop_time":"2024-05-01T10:00:00.0015Z"}`, 200, `"data":[{"0_context.span_id":"0000000000000001","1_n":"op-AGENT"}]`},
		{"kwargs must be text", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"explode":{"key":"retrieval.documents","kwargs":{"a":1}}}]}`, 422, `explode.kwargs["a"] must be a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := postSpanQuery(t, h, tc.method, tc.target, tc.body, tc.header)
			if w.Code != tc.wantStatus || !strings.Contains(w.Body.String(), tc.wantInBody) {
				t.Errorf("%s %s = %d %s\nwant %d containing %s", tc.method, tc.target, w.Code, w.Body, tc.wantStatus, tc.wantInBody)
			}
		})
	}
}

func TestAcceptsJSON(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, true},
		{[]string{"application/json"}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/x-pandas-arrow"}, false},
		{[]string{"application/x-pandas-arrow, application/json;q=0.5"}, true},
		{[]string{"text/html"}, false},
	}
	for _, tc := range tests {
		if got := acceptsJSON(tc.accept); got != tc.want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}
