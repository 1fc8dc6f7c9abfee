// Package export_test checks the reads that grow with what is stored: the
// real binary, under its default memory limit, answers a span query for
// every span of a project, and traces with every one of their spans, in
// full, while its memory stays flat; and --query-timeout bounds reads.
package export_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

const (
	// projectSpans is how many small spans the span query exports. At
	// 280,000 the server used to peak at 1.38 GB building the answer.
	projectSpans = 200_000
	// traceSpans is the size of the trace listed with include_spans.
	traceSpans = 100_000
	// maxPeakRSS is DESIGN.md's bound on the whole process's memory.
	maxPeakRSS = 300_000_000
)

func TestLargeAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	srv := e2etest.Start(t, e2etest.Build(t))
	start := time.Now()
	ids := srv.SendSmallSpans(t, "export", projectSpans, 1)
	srv.SendSpans(t, "wide", wideTrace(traceSpans))
	t.Logf("stored %d + %d spans in %v", len(ids), traceSpans, time.Since(start))

	t.Run("SpanQuery", func(t *testing.T) {
		srv.ResetPeakRSS(t)
		start := time.Now()
		got := exportAll(t, srv.HTTPURL, "export")
		peak := srv.PeakRSS(t)
		t.Logf("%d rows in %v, server peak RSS %.1f MiB", len(got), time.Since(start), float64(peak)/(1<<20))
		if len(got) != len(ids) {
			t.Errorf("%d rows, want one for each of the %d spans", len(got), len(ids))
		}
		seen := make(map[string]bool, len(got))
		for _, id := range got {
			if seen[id] {
				t.Fatalf("span %s twice", id)
			}
			seen[id] = true
		}
		for _, id := range ids {
			if !seen[id] {
				t.Fatalf("span %s missing", id)
			}
		}
		if peak > maxPeakRSS {
			t.Errorf("server peak RSS %d B during the export, want at most %d", peak, maxPeakRSS)
		}
	})

	t.Run("IncludeSpans", func(t *testing.T) {
		srv.ResetPeakRSS(t)
		start := time.Now()
		n := traceWithSpans(t, srv.HTTPURL, "wide")
		peak := srv.PeakRSS(t)
		t.Logf("%d spans in %v, server peak RSS %.1f MiB", n, time.Since(start), float64(peak)/(1<<20))
		if n != traceSpans {
			t.Errorf("the trace lists %d spans, want %d", n, traceSpans)
		}
		if peak > maxPeakRSS {
			t.Errorf("server peak RSS %d B listing the trace, want at most %d", peak, maxPeakRSS)
		}
	})
	srv.Stop(t)
}

// exportAll asks for every span of project, as get_spans_dataframe with a
// huge limit does, and returns the span ids of the rows in the order
// given, checking that the answer is multipart/mixed with one JSON part
// whose rows come newest first. It reads the answer as it arrives.
func exportAll(t *testing.T, url, project string) []string {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/v1/spans?project_name="+project,
		strings.NewReader(`{"queries":[{}],"start_time":null,"end_time":null,"limit":100000000,"root_spans_only":null}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || err != nil || mt != "multipart/mixed" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		t.Fatalf("POST /v1/spans = %s %q: %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(part)
	expect := func(want json.Token) {
		t.Helper()
		tok, err := dec.Token()
		if err != nil || tok != want {
			t.Fatalf("got %v (%v), want %v", tok, err, want)
		}
	}
	expect(json.Delim('{'))
	expect("schema")
	var schema struct {
		Fields []struct{ Name string } `json:"fields"`
	}
	if err := dec.Decode(&schema); err != nil {
		t.Fatal(err)
	}
	if len(schema.Fields) < 5 || schema.Fields[0].Name != "0_context.span_id" || schema.Fields[4].Name != "4_start_time" {
		t.Fatalf("schema fields %v", schema.Fields)
	}
	expect("data")
	expect(json.Delim('['))
	var ids []string
	prev := ""
	for dec.More() {
		var row struct {
			SpanID string `json:"0_context.span_id"`
			Start  string `json:"4_start_time"`
		}
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("row %d: %v", len(ids), err)
		}
		if prev != "" && row.Start > prev {
			t.Fatalf("row %d starts at %s, after the row before it (%s)", len(ids), row.Start, prev)
		}
		prev = row.Start
		ids = append(ids, row.SpanID)
	}
	expect(json.Delim(']'))
	expect(json.Delim('}'))
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("after the part: %v, want the closing boundary", err)
	}
	return ids
}

// traceWithSpans lists the traces of project with include_spans and
// returns how many spans its one trace lists, reading as it arrives.
func traceWithSpans(t *testing.T, url, project string) int {
	t.Helper()
	resp, err := http.Get(url + "/v1/projects/" + project + "/traces?include_spans=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		t.Fatalf("GET traces = %s: %s", resp.Status, body)
	}
	var page struct {
		Data []struct {
			NumSpans int               `json:"num_spans"`
			Spans    []json.RawMessage `json:"spans"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].NumSpans != traceSpans {
		t.Fatalf("%d traces, want 1 of %d spans", len(page.Data), traceSpans)
	}
	return len(page.Data[0].Spans)
}

// wideTrace is one trace of n spans: a root and n-1 children.
func wideTrace(n int) []agentgen.Span {
	var traceID trace.TraceID
	copy(traceID[:], "wide-trace-00001")
	id := func(i int) trace.SpanID {
		var s trace.SpanID
		binary.BigEndian.PutUint64(s[:], uint64(i)+1)
		return s
	}
	base := time.Unix(1_780_000_000, 0)
	out := make([]agentgen.Span, n)
	for i := range out {
		out[i] = agentgen.Span{TraceID: traceID, SpanID: id(i), Parent: -1, Name: fmt.Sprintf("step %d", i),
			Kind: trace.SpanKindInternal, Start: base.Add(time.Duration(i) * time.Millisecond),
			End:   base.Add(time.Duration(i)*time.Millisecond + time.Millisecond),
			Attrs: []attribute.KeyValue{attribute.String("openinference.span.kind", "CHAIN")}}
		if i > 0 {
			out[i].ParentID, out[i].Parent = id(0), 0
		}
	}
	return out
}

// TestQueryTimeoutFlag starts the binary with --query-timeout 1ns: reads
// of the REST API and the UI are answered 503, saying what to do, while
// ingest goes on.
func TestQueryTimeoutFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	srv := e2etest.Start(t, e2etest.Build(t), "--query-timeout", "1ns")
	srv.SendSmallSpans(t, "slow", 100, 3)
	const msg = "the query took longer than 1ns; narrow the time range or the filter"
	for _, req := range []struct{ method, path, body, want string }{
		{"GET", "/v1/projects/slow/spans?filter=latency_ms%20%3E%200", "", msg},
		{"POST", "/v1/spans?project_name=slow", `{"queries":[{}],"limit":100000000}`, msg},
		{"GET", "/v1/projects/slow/traces?include_spans=true", "", msg},
		{"GET", "/projects/slow/spans", "", "The query took longer than 1ns; narrow the time range or the filter."},
	} {
		r, err := http.NewRequest(req.method, srv.HTTPURL+req.path, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		if req.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), req.want) {
			t.Errorf("%s %s = %s %.300s, want 503 with %q", req.method, req.path, resp.Status, body, req.want)
		}
	}
	srv.Stop(t)
}
