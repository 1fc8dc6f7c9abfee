package phoenixclient_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestPhoenixRESTSurface checks, against the real binary, the parts of
// Phoenix 20.26's tracing REST surface that arize-phoenix-client 3.5 never
// calls: the trace and session filter, the span list's sort and order, the
// deletion of a project's traces by time range and the PATCH of a
// project's retention policy, with the version Loupe reports.
func TestPhoenixRESTSurface(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	srv := e2etest.Start(t, e2etest.Build(t))
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(strings.TrimPrefix(srv.HTTPURL, "http://")),
		otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", "rest"))))
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	turns := emitTurns(ctx, tp, base, 40)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("exporting: %v", err)
	}

	resp, body := call(t, "GET", srv.HTTPURL+"/arize_phoenix_version", "")
	if strings.TrimSpace(body) != "20.26.1" || resp.Header.Get("x-phoenix-server-version") != "20.26.1" {
		t.Errorf("version %q, header %q; want 20.26.1", body, resp.Header.Get("x-phoenix-server-version"))
	}
	if resp, _ := call(t, "GET", srv.HTTPURL+"/v1/projects/nope", ""); resp.Header.Get("x-phoenix-server-version") != "20.26.1" {
		t.Errorf("a 404 lacks x-phoenix-server-version: %v", resp.Header)
	}

	traces := func(query string) []string {
		t.Helper()
		var page struct {
			Data []struct {
				TraceID string `json:"trace_id"`
			} `json:"data"`
		}
		srv.GetJSON(t, "/v1/projects/rest/traces?limit=1000&"+query, &page)
		out := []string{}
		for _, d := range page.Data {
			out = append(out, d.TraceID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"error=true", turnIDs(turns, func(_ int, t turn) bool { return t.failed })},
		{"min_latency_ms=1000000", []string{}},
		{"filter=" + url.QueryEscape("error_count > 0 and latency_ms >= 500"),
			turnIDs(turns, func(_ int, t turn) bool { return t.failed && t.latency >= 500 })},
		{"filter=" + url.QueryEscape("'question 1' in input and num_spans == 2"),
			turnIDs(turns, func(i int, _ turn) bool { return i == 1 || (i >= 10 && i < 20) })},
		{"filter=" + url.QueryEscape("attributes['session.id'] == 'turns-1'"),
			turnIDs(turns, func(_ int, t turn) bool { return t.session == "turns-1" })},
		{"filter=" + url.QueryEscape("latency_ms <= 300") + "&error=false",
			turnIDs(turns, func(_ int, t turn) bool { return !t.failed && t.latency <= 300 })},
		{"filter=", turnIDs(turns, func(int, turn) bool { return true })},
	} {
		if got := traces(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("traces?%s: %d traces, want %d", tc.query, len(got), len(tc.want))
		}
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/v1/projects/rest/traces?filter=" + url.QueryEscape("tool_span_count > 0"), "", 400,
			"invalid trace filter: tool_span_count is not supported: Loupe keeps no count of TOOL spans per trace or session"},
		{"GET", "/v1/projects/rest/traces?filter=" + url.QueryEscape("any(s.status_code == 'ERROR' for s in spans)"), "", 400,
			"invalid trace filter: comprehensions over 'spans' ('… for x in …') are not supported"},
		{"GET", "/v1/projects/rest/traces?filter=" + url.QueryEscape("latency_ms >"), "", 400, "invalid trace filter: expected a value"},
		{"GET", "/v1/projects/rest/traces?min_latency_ms=-5", "", 422, "min_latency_ms must be greater than or equal to 0"},
		{"GET", "/v1/projects/rest/traces?cursor=" + url.QueryEscape("VHJhY2U6MQ=="), "", 422, "Invalid cursor"},
		{"GET", "/v1/projects/rest/sessions?filter=" + url.QueryEscape("num_traces == 3 and 'question 4' in any_input"), "", 200, `"session_id":"turns-0"`},
		{"GET", "/v1/projects/rest/sessions?filter=" + url.QueryEscape("tool_span_count > 1"), "", 400, "invalid session filter: tool_span_count is not supported"},
		{"GET", "/v1/projects/rest/spans?sort=duration", "", 422, `sort must be id or start_time, got "duration"`},
		{"GET", "/v1/projects/rest/spans?span_kind=DECISION", "", 200, `"data":[]`},
		{"PATCH", "/v1/projects/rest/retention", `{}`, 422, "policy_id is required"},
		{"PATCH", "/v1/projects/rest/retention", `{"policy_id":null}`, 200, `"policy_id":null,"project_id":"UHJvamVjdDoy"`},
		{"DELETE", "/v1/projects/rest/traces?start_time=" + url.QueryEscape(base.Format(time.RFC3339)), "", 422, "end_time is required"},
		{"DELETE", "/v1/projects/rest/traces?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z", "", 422,
			"`start_time` must be strictly earlier than `end_time`."},
		{"DELETE", "/v1/projects/nope/traces?start_time=2026-01-01T00:00:00Z&end_time=2026-01-02T00:00:00Z", "", 404, "Project with name nope not found"},
	} {
		resp, body := call(t, tc.method, srv.HTTPURL+tc.path, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s = %d %q, want %d with %q", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status, tc.want)
		}
	}

	// The span list oldest first by start time, page after page.
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 40 {
			t.Fatal("the span pages do not end")
		}
		var page struct {
			Data []struct {
				Name      string `json:"name"`
				StartTime string `json:"start_time"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		path := "/v1/projects/rest/spans?sort=start_time&order=asc&limit=7&name=" + url.QueryEscape("llm.chat")
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		srv.GetJSON(t, path, &page)
		for _, d := range page.Data {
			names = append(names, d.StartTime)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if raw, _ := base64.StdEncoding.DecodeString(cursor); !strings.Contains(string(raw), ":DATETIME:") {
			t.Fatalf("a start-time cursor %q reads %q", cursor, raw)
		}
	}
	if len(names) != len(turns) || !slices.IsSorted(names) {
		t.Errorf("LLM spans oldest first: %d, sorted %v; want %d in order", len(names), slices.IsSorted(names), len(turns))
	}

	// Deleting the traces that started in [10 s, 20 s) leaves the others.
	from, to := base.Add(10*time.Second), base.Add(20*time.Second)
	resp, body = call(t, "DELETE", srv.HTTPURL+"/v1/projects/rest/traces?start_time="+url.QueryEscape(from.UTC().Format("2006-01-02T15:04:05"))+
		"&end_time="+url.QueryEscape(to.Format(time.RFC3339Nano)), "")
	if resp.StatusCode != 204 {
		t.Fatalf("DELETE traces in a range = %d %s", resp.StatusCode, body)
	}
	if got, want := traces(""), turnIDs(turns, func(i int, _ turn) bool { return i < 10 || i >= 20 }); !slices.Equal(got, want) {
		t.Errorf("after deleting [10 s, 20 s): %d traces, want %d", len(got), len(want))
	}
}

// call sends a request and returns the response and its body.
func call(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
