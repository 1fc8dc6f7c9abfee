package e2etest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

// SendSmallSpans stores n small spans (about 200 B each, agent-shaped
// trees, as `loupe-bench ingest --span-size small` sends) in project and
// returns their span ids.
func (s *Server) SendSmallSpans(t testing.TB, project string, n int, seed uint64) []string {
	t.Helper()
	gen := agentgen.New(agentgen.Small, seed, time.Unix(1_780_000_000, 0))
	var ids []string
	sent := 0
	s.sendBatches(t, project, func() []agentgen.Span {
		if sent >= n {
			return nil
		}
		spans := gen.Spans(min(sendBatch, n-sent))
		sent += len(spans)
		for _, sp := range spans {
			ids = append(ids, sp.SpanID.String())
		}
		return spans
	})
	return ids
}

// SendSpans stores spans in project.
func (s *Server) SendSpans(t testing.TB, project string, spans []agentgen.Span) {
	t.Helper()
	s.sendBatches(t, project, func() []agentgen.Span {
		b := spans[:min(sendBatch, len(spans))]
		spans = spans[len(b):]
		return b
	})
}

// sendBatch is how many spans one OTLP request carries.
const sendBatch = 2000

// sendBatches POSTs the batches next returns (until an empty one) as OTLP
// protobuf from a few senders at once, failing the test unless every batch
// is acknowledged; a batch refused with 503 (the queue full) is sent again.
func (s *Server) sendBatches(t testing.TB, project string, next func() []agentgen.Span) {
	t.Helper()
	const senders = 3
	bodies := make(chan []byte, senders)
	go func() {
		defer close(bodies)
		for spans := next(); len(spans) > 0; spans = next() {
			b, err := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(
				agentgen.Resource{ServiceName: "e2e", Project: project}, spans)).MarshalProto()
			if err != nil {
				panic(err)
			}
			bodies <- b
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: time.Minute}
			for b := range bodies {
				if err := postTraces(client, s.HTTPURL, b); err != nil {
					errs <- err
					for range bodies {
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// postTraces sends one OTLP/HTTP protobuf body, again while the server
// answers 503.
func postTraces(client *http.Client, url string, body []byte) error {
	for attempt := 0; ; attempt++ {
		resp, err := client.Post(url+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 100:
			time.Sleep(100 * time.Millisecond)
		default:
			return fmt.Errorf("POST /v1/traces: %s", resp.Status)
		}
	}
}

// ResetPeakRSS makes the server's peak resident set size its current one
// (Linux: "5" to /proc/PID/clear_refs), so that PeakRSS measures what
// follows alone.
func (s *Server) ResetPeakRSS(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.Cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
}

// PeakRSS is the server's peak resident set size in bytes (VmHWM).
func (s *Server) PeakRSS(t testing.TB) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("peak RSS: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("peak RSS: %q: %v", sc.Text(), err)
			}
			return kb << 10
		}
	}
	t.Fatal("peak RSS: no VmHWM in /proc/PID/status")
	return 0
}
