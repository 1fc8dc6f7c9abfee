package e2etest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The workload of servers sharing one database (e2e/postgres,
// e2e/clickhouse): the spans of the same traces sent to two servers at
// once, each trace's spans split between them, some requests sent to both.

// The shared workload: SharedTraces traces over SharedProjects projects.
const (
	SharedTraces   = 48
	SharedProjects = projects
	traces         = SharedTraces
	spansPerTrace  = 6 // a root and five children, the odd ones LLM calls
	projects       = 2
	sessions       = 4
)

// SharedSpan is span n of trace trace of the shared workload.
type SharedSpan struct{ Trace, N int }

func (s SharedSpan) project() string { return fmt.Sprintf("shared-%d", s.Trace%projects) }
func (s SharedSpan) session() string { return fmt.Sprintf("conv-%d", s.Trace%sessions) }

// SharedTraceID is the trace id of trace trace.
func SharedTraceID(trace int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[8:], uint64(trace))
	return id
}

func spanID(trace, n int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(trace)<<16|uint64(n)+1)
	return id
}

// SharedRequest encodes spans as one OTLP/protobuf export request.
func SharedRequest(spans []SharedSpan, start time.Time) []byte {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("openinference.project.name", s.project())
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(SharedTraceID(s.Trace))
		sp.SetSpanID(spanID(s.Trace, s.N))
		kind := "CHAIN"
		if s.N > 0 {
			sp.SetParentSpanID(spanID(s.Trace, 0))
		}
		if s.N%2 == 1 {
			kind = "LLM"
			sp.Attributes().PutInt("llm.token_count.prompt", 100)
			sp.Attributes().PutInt("llm.token_count.completion", 10)
		}
		sp.SetName(fmt.Sprintf("step-%d", s.N))
		t0 := start.Add(time.Duration(s.Trace) * time.Second).Add(time.Duration(s.N) * time.Millisecond)
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

func post(srv *Server, body []byte) error { return PostTraces(srv, "", body) }

// ErrUnauthorized is PostTraces's error for a 401.
var ErrUnauthorized = errors.New("POST /v1/traces: 401 Unauthorized")

// PostTraces sends an OTLP request with key as its bearer, if any.
func PostTraces(srv *Server, key string, body []byte) error {
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
		return ErrUnauthorized
	}
	return fmt.Errorf("POST /v1/traces: %s", resp.Status)
}

// Page is one page of a REST list.
type Page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// all reads every page of a list endpoint.
func all[T any](t *testing.T, srv *Server, path string) []T {
	t.Helper()
	var out []T
	cursor := ""
	for {
		var p Page[T]
		srv.GetJSON(t, path+"?limit=50"+cursor, &p)
		out = append(out, p.Data...)
		if p.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + *p.NextCursor
	}
}

// ShareTraces sends the shared workload to servers (two) and checks that
// each of them then lists every span once, with exact trace and session
// roll-ups.
func ShareTraces(t *testing.T, servers []*Server) {
	t.Helper()
	var spans []SharedSpan
	for tr := 1; tr <= traces; tr++ {
		for n := range spansPerTrace {
			spans = append(spans, SharedSpan{tr, n})
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
		body := SharedRequest(spans[i:min(i+8, len(spans))], start)
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
}
