// Package retention_test checks that the real server deletes what its
// retention policies no longer keep, on SQLite and on PostgreSQL.
package retention_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

const day = 24 * time.Hour

// agedTraces encodes n traces of two spans for project, trace i started i
// days and an hour ago, all in one session.
func agedTraces(project string, first, n int, session string) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("openinference.project.name", project)
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i := range n {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(first+i))
		start := now.Add(-time.Duration(i)*day - time.Hour)
		for s := range 2 {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(tid)
			var sid pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], uint64(first+i)<<8|uint64(s)+1)
			sp.SetSpanID(sid)
			if s == 1 {
				var parent pcommon.SpanID
				binary.BigEndian.PutUint64(parent[:], uint64(first+i)<<8|1)
				sp.SetParentSpanID(parent)
			}
			sp.SetName("turn")
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
			sp.Attributes().PutStr("session.id", session)
			sp.Attributes().PutStr("input.value", fmt.Sprintf("question %d", first+i))
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func send(t *testing.T, srv *e2etest.Server, method, path, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.HTTPURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
}

func TestRetention(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			args := []string{"--retention-interval", "200ms", "--retention-traces", "3"}
			if backend == "postgres" {
				args = append(args, "--database", pgtest.URL(t))
			}
			srv := e2etest.Start(t, e2etest.Build(t), args...)

			// "aged" keeps 4.5 days, "capped" follows the default (the
			// newest 3 traces). The policy is in place before the data.
			send(t, srv, "POST", "/v1/projects", "application/json", []byte(`{"name":"aged"}`))
			send(t, srv, "PUT", "/v1/projects/aged/retention", "application/json", []byte(`{"data":{"max_days":4.5}}`))
			send(t, srv, "POST", "/v1/traces", "application/x-protobuf", agedTraces("aged", 100, 10, "aged-conv"))
			send(t, srv, "POST", "/v1/traces", "application/x-protobuf", agedTraces("capped", 200, 6, "capped-conv"))

			type storage struct {
				Data struct {
					Traces   int64 `json:"traces"`
					Spans    int64 `json:"spans"`
					Projects []struct {
						Name   string `json:"name"`
						Traces int64  `json:"traces"`
					} `json:"projects"`
				} `json:"data"`
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				var st storage
				srv.GetJSON(t, "/v1/storage", &st)
				if st.Data.Traces == 5+3 && st.Data.Spans == 2*(5+3) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("retention did not apply in time: storage report %+v", st.Data)
				}
				time.Sleep(100 * time.Millisecond)
			}

			var traces struct {
				Data []struct {
					TraceID string `json:"trace_id"`
					Input   string `json:"input"`
				} `json:"data"`
			}
			srv.GetJSON(t, "/v1/projects/aged/traces", &traces)
			var inputs []string
			for _, tr := range traces.Data {
				inputs = append(inputs, tr.Input)
			}
			want := fmt.Sprint([]string{"question 100", "question 101", "question 102", "question 103", "question 104"})
			if fmt.Sprint(inputs) != want {
				t.Errorf("aged keeps %v, want %s (the traces younger than 4.5 days)", inputs, want)
			}
			var sess struct {
				Data struct {
					NumTraces int64 `json:"num_traces"`
				} `json:"data"`
			}
			srv.GetJSON(t, "/v1/sessions/aged-conv", &sess)
			if sess.Data.NumTraces != 5 {
				t.Errorf("session aged-conv has %d traces, want its 5 kept ones", sess.Data.NumTraces)
			}
			srv.GetJSON(t, "/v1/sessions/capped-conv", &sess)
			if sess.Data.NumTraces != 3 {
				t.Errorf("session capped-conv has %d traces, want 3", sess.Data.NumTraces)
			}
			srv.Stop(t)
		})
	}
}
