// Package clickhouse_test runs two loupe servers on one three-shard
// ClickHouse cluster, each talking to a different node, as a deployment
// that outgrew PostgreSQL does.
package clickhouse_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

const (
	traces        = 48
	spansPerTrace = 6 // a root and five children, the odd ones LLM calls
	projects      = 2
	sessions      = 4
)

type testSpan struct{ trace, n int }

func (s testSpan) project() string { return fmt.Sprintf("shared-%d", s.trace%projects) }
func (s testSpan) session() string { return fmt.Sprintf("conv-%d", s.trace%sessions) }

func traceID(trace int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[8:], uint64(trace))
	return id
}

func spanID(trace, n int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(trace)<<16|uint64(n)+1)
	return id
}

// request encodes spans as one OTLP/protobuf export request.
func request(spans []testSpan, start time.Time) []byte {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("openinference.project.name", s.project())
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(traceID(s.trace))
		sp.SetSpanID(spanID(s.trace, s.n))
		kind := "CHAIN"
		if s.n > 0 {
			sp.SetParentSpanID(spanID(s.trace, 0))
		}
		if s.n%2 == 1 {
			kind = "LLM"
			sp.Attributes().PutInt("llm.token_count.prompt", 100)
			sp.Attributes().PutInt("llm.token_count.completion", 10)
		}
		sp.SetName(fmt.Sprintf("step-%d", s.n))
		t0 := start.Add(time.Duration(s.trace) * time.Second).Add(time.Duration(s.n) * time.Millisecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(50 * time.Millisecond)))
		sp.Attributes().PutStr("openinference.span.kind", kind)
		sp.Attributes().PutStr("session.id", s.session())
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func post(srv *e2etest.Server, body []byte) error { return postWith(srv, "", body) }

// errUnauthorized is postWith's error for a 401.
var errUnauthorized = errors.New("POST /v1/traces: 401 Unauthorized")

// postWith sends an OTLP request with key as its bearer, if any.
func postWith(srv *e2etest.Server, key string, body []byte) error {
	req, err := http.NewRequest("POST", srv.HTTPURL+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return errUnauthorized
	}
	return fmt.Errorf("POST /v1/traces: %s", resp.Status)
}

type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// all reads every page of a list endpoint.
func all[T any](t *testing.T, srv *e2etest.Server, path string) []T {
	t.Helper()
	var out []T
	cursor := ""
	for {
		var p page[T]
		srv.GetJSON(t, path+"?limit=50"+cursor, &p)
		out = append(out, p.Data...)
		if p.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + *p.NextCursor
	}
}

// TestServersShareOneCluster sends the spans of the same traces to two
// servers at once, on two nodes of a three-shard cluster, each trace's
// spans split between them, with some requests sent to both (a client
// retrying elsewhere). Both servers must then show every span once, exact
// roll-ups, and the same pages.
func TestServersShareOneCluster(t *testing.T) {
	urls := chtest.Cluster(t)
	bin := e2etest.Build(t)
	// The first names its cluster in the URL, the second with the flag.
	second, _, _ := strings.Cut(urls[1], "?")
	servers := []*e2etest.Server{
		e2etest.Start(t, bin, "--database", urls[0]),
		e2etest.Start(t, bin, "--database", second, "--clickhouse-cluster", chtest.ClusterName(urls[0])),
	}

	var spans []testSpan
	for tr := 1; tr <= traces; tr++ {
		for n := range spansPerTrace {
			spans = append(spans, testSpan{tr, n})
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	rng.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	type send struct {
		server int
		body   []byte
	}
	var sends []send
	for i := 0; i < len(spans); i += 8 {
		body := request(spans[i:min(i+8, len(spans))], start)
		sends = append(sends, send{i / 8 % 2, body})
		if rng.IntN(3) == 0 {
			sends = append(sends, send{(i/8 + 1) % 2, body})
		}
	}
	work := make(chan send)
	errs := make(chan error, len(sends))
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				if err := post(servers[s.server], s.body); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, s := range sends {
		work <- s
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	type spanJSON struct {
		Context struct {
			SpanID string `json:"span_id"`
		} `json:"context"`
	}
	type traceJSON struct {
		TraceID    string  `json:"trace_id"`
		NumSpans   int64   `json:"num_spans"`
		LLMSpans   int64   `json:"llm_span_count"`
		Tokens     int64   `json:"token_count_total"`
		RootSpanID *string `json:"root_span_id"`
		SessionID  *string `json:"session_id"`
	}
	type sessionJSON struct {
		Data struct {
			NumTraces int64 `json:"num_traces"`
		} `json:"data"`
	}
	llm := int64(spansPerTrace / 2)
	for i, srv := range servers {
		seen := map[string]bool{}
		for p := range projects {
			project := fmt.Sprintf("shared-%d", p)
			for _, s := range all[spanJSON](t, srv, "/v1/projects/"+project+"/spans") {
				if seen[s.Context.SpanID] {
					t.Errorf("server %d: span %s listed twice", i, s.Context.SpanID)
				}
				seen[s.Context.SpanID] = true
			}
			ts := all[traceJSON](t, srv, "/v1/projects/"+project+"/traces")
			if len(ts) != traces/projects {
				t.Errorf("server %d: project %s has %d traces, want %d", i, project, len(ts), traces/projects)
			}
			for _, tr := range ts {
				if tr.NumSpans != spansPerTrace || tr.LLMSpans != llm || tr.Tokens != llm*110 || tr.RootSpanID == nil || tr.SessionID == nil {
					t.Errorf("server %d: trace %+v, want %d spans, %d LLM spans, %d tokens, a root and a session",
						i, tr, spansPerTrace, llm, llm*110)
				}
			}
		}
		if len(seen) != traces*spansPerTrace {
			t.Errorf("server %d lists %d spans, want %d", i, len(seen), traces*spansPerTrace)
		}
		for c := range sessions {
			var sess sessionJSON
			srv.GetJSON(t, fmt.Sprintf("/v1/sessions/conv-%d", c), &sess)
			if sess.Data.NumTraces != traces/sessions {
				t.Errorf("server %d: session conv-%d has %d traces, want %d", i, c, sess.Data.NumTraces, traces/sessions)
			}
		}
	}
	checkPages(t, servers)
	for _, srv := range servers {
		srv.Stop(t)
	}
}

// checkPages reads the UI's pages of the shared projects from both servers:
// each lists the same traces, and the errors-only view none (no span
// failed).
func checkPages(t *testing.T, servers []*e2etest.Server) {
	t.Helper()
	for p := range projects {
		project := fmt.Sprintf("shared-%d", p)
		for i, srv := range servers {
			page := srv.GetText(t, "/projects/"+project)
			for tr := 1; tr <= traces; tr++ {
				id := traceID(tr)
				if tr%projects == p && !strings.Contains(page, fmt.Sprintf("%x", id[:])) {
					t.Errorf("server %d: the trace page of %s does not list trace %d", i, project, tr)
				}
			}
			tr := traceID(p + projects)
			if tp := srv.GetText(t, fmt.Sprintf("/projects/%s/traces/%x", project, tr[:])); !strings.Contains(tp, "step-5") {
				t.Errorf("server %d: the trace page of trace %d does not show its spans", i, p+projects)
			}
		}
	}
}
