package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/span/spantest"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The tests' spans: testSpan(project, trace, id, parent, kind, attrs...)
// starts id ms after t0.
const t0 = spantest.T0

var testSpan, hexID = spantest.New, spantest.HexID

func newTestStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestAPI(t *testing.T, spans ...span.Span) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := newTestStore(t)
	if len(spans) > 0 {
		if _, err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	costs, err := costing.New(context.Background(), st, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	return (&API{Store: st, Ingest: directSubmitter{st}, Costs: costs, Log: log}).Handler()
}

// directSubmitter writes uploaded spans straight to the store.
type directSubmitter struct{ st *sqlite.Store }

func (d directSubmitter) Submit(ctx context.Context, spans []span.Span) error {
	_, err := d.st.WriteSpans(ctx, spans)
	return err
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}

func TestSpansGolden(t *testing.T) {
	root := testSpan("demo", 1, 1, 0, span.KindAgent,
		span.Attr{Key: span.AttrInputValue, Value: span.StringValue("hi")},
		span.Attr{Key: span.AttrSessionID, Value: span.StringValue("s-1")})
	llm := testSpan("demo", 1, 2, 1, span.KindLLM,
		span.Attr{Key: "llm.input_messages.0.message.role", Value: span.StringValue("user")},
		span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(12)},
		span.Attr{Key: "tag.tags", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{span.StringValue("a")}}})
	llm.StatusCode, llm.StatusMessage = span.StatusError, "boom"
	llm.Events = []span.Event{{Name: "exception", Time: t0 + 3e6, Attributes: span.Attributes{{Key: "exception.message", Value: span.StringValue("boom")}}}}
	h := newTestAPI(t, root, llm)
	for name, path := range map[string]string{
		"spans.json":  "/v1/projects/demo/spans",
		"traces.json": "/v1/projects/demo/traces?include_spans=true",
	} {
		code, body := get(t, h, path)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, []byte(body), "", "  ")
		golden := filepath.Join("testdata", name)
		if *update {
			os.WriteFile(golden, pretty.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if pretty.String() != string(want) {
			t.Errorf("GET %s differs from %s:\n%s", path, golden, pretty.String())
		}
	}
}

func TestPagination(t *testing.T) {
	var spans []span.Span
	for i := 1; i <= 5; i++ {
		spans = append(spans, testSpan("p", i, i, 0, span.KindChain))
	}
	h := newTestAPI(t, spans...)
	var seen []string
	path := "/v1/projects/p/spans?limit=2"
	for pages := 0; pages < 10; pages++ {
		code, body := get(t, h, path)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
		var page struct {
			Data []struct {
				ID      string `json:"id"`
				Context struct {
					SpanID string `json:"span_id"`
				} `json:"context"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		json.Unmarshal([]byte(body), &page)
		for _, d := range page.Data {
			seen = append(seen, d.Context.SpanID)
		}
		if page.NextCursor == nil {
			break
		}
		if id, err := ParseGlobalID(*page.NextCursor, "Span"); err != nil || id <= 0 {
			t.Fatalf("next_cursor %q is not a Span GlobalID", *page.NextCursor)
		}
		path = "/v1/projects/p/spans?limit=2&cursor=" + *page.NextCursor
	}
	want := []string{hexID(5, 16), hexID(4, 16), hexID(3, 16), hexID(2, 16), hexID(1, 16)}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("pages gave %v, want %v", seen, want)
	}
}

func TestRequests(t *testing.T) {
	h := newTestAPI(t,
		testSpan("p", 1, 1, 0, span.KindAgent, span.Attr{Key: span.AttrUserID, Value: span.StringValue("123")}),
		testSpan("p", 1, 2, 1, span.KindLLM, span.Attr{Key: "flag", Value: span.BoolValue(true)},
			span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(7)}),
	)
	project := GlobalID("Project", 2)
	tests := []struct {
		path       string
		wantStatus int
		wantInBody string
	}{
		{"/arize_phoenix_version", 200, PhoenixVersion},
		{"/v1/projects", 200, `"name":"p"`},
		{"/v1/projects?name_contains=P", 200, `"name":"p"`},
		{"/v1/projects?limit=1", 200, `"next_cursor":"` + GlobalID("Project", 1) + `"`},
		{"/v1/projects/p", 200, `"id":"` + project + `"`},
		{"/v1/projects/" + project, 200, `"name":"p"`},
		{"/v1/projects/nope", 404, "Project with name nope not found"},
		{"/v1/projects/nope/spans", 404, "Project with name nope not found"},
		{"/v1/projects/p/spans?parent_id=null", 200, `"span_id":"` + hexID(1, 16) + `"`},
		{"/v1/projects/p/spans?span_kind=llm", 200, `"span_kind":"LLM"`},
		{"/v1/projects/p/spans?span_kind=BOGUS", 422, "invalid span_kind"},
		{"/v1/projects/p/spans?status_code=nope", 422, "invalid status_code"},
		{"/v1/projects/p/spans?limit=0", 422, "limit must be a positive integer"},
		{"/v1/projects/p/spans?limit=1001", 422, "at most 1000"},
		{"/v1/projects/p/spans?cursor=garbage", 422, "invalid cursor"},
		{"/v1/projects/p/spans?cursor=" + project, 422, "is a Project id, expected a Span id"},
		{"/v1/projects/p/spans?start_time=yesterday", 422, "invalid datetime"},
		{"/v1/projects/p/spans?start_time=2030-01-01T00:00:00", 200, `"data":[]`},
		{"/v1/projects/p/spans?attribute=flag:true", 200, `"span_id":"` + hexID(2, 16) + `"`},
		{"/v1/projects/p/spans?attribute=llm.token_count.prompt:7", 200, `"span_id":"` + hexID(2, 16) + `"`},
		{`/v1/projects/p/spans?attribute=user.id:"123"`, 200, `"span_id":"` + hexID(1, 16) + `"`},
		{"/v1/projects/p/spans?attribute=user.id:123", 200, `"data":[]`},
		{"/v1/projects/p/spans?attribute=nocolon", 422, "must look like key:value"},
		{"/v1/projects/p/spans?attribute=k:[1]", 422, "must be a string, number or boolean"},
		{"/v1/projects/p/spans?parent_id=abc", 422, "parent_id only accepts"},
		{"/v1/projects/p/traces?sort=latency_ms&order=asc", 200, `"num_spans":2`},
		{"/v1/projects/p/traces?sort=name", 422, "sort must be start_time or latency_ms"},
		{"/v1/projects/p/traces?order=up", 422, "order must be asc or desc"},
	}
	for _, tc := range tests {
		code, body := get(t, h, tc.path)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("GET %s = %d %s\nwant %d containing %s", tc.path, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}

func TestGlobalID(t *testing.T) {
	if got := GlobalID("Project", 1); got != "UHJvamVjdDox" {
		t.Errorf("GlobalID(Project, 1) = %s, want Phoenix's UHJvamVjdDox", got)
	}
	for _, bad := range []string{"", "!!", "UHJvamVjdA==", GlobalID("Project", 0)} {
		if _, err := ParseGlobalID(bad, "Project"); err == nil {
			t.Errorf("ParseGlobalID(%q) succeeded", bad)
		}
	}
}
