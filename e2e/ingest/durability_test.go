package ingest_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

const spansPerTrace = 5

// traceRequest encodes one OTLP/protobuf request holding one trace of
// spansPerTrace spans, numbered n; padding makes each span about that large.
func traceRequest(n uint64, padding int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("openinference.project.name", "durable")
	ss := rs.ScopeSpans().AppendEmpty()
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[8:], n+1)
	now := time.Now().UnixNano()
	pad := strings.Repeat("x", padding)
	for i := uint64(0); i < spansPerTrace; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(spanIDFor(n, i))
		if i > 0 {
			sp.SetParentSpanID(spanIDFor(n, 0))
		}
		sp.SetName("step")
		sp.SetStartTimestamp(pcommon.Timestamp(now))
		sp.SetEndTimestamp(pcommon.Timestamp(now + 1e6))
		sp.Attributes().PutStr("openinference.span.kind", "LLM")
		sp.Attributes().PutStr("input.value", pad)
		sp.Attributes().PutInt("llm.token_count.prompt", 10)
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func spanIDFor(trace, i uint64) pcommon.SpanID {
	var sid pcommon.SpanID
	binary.BigEndian.PutUint64(sid[:], (trace+1)<<8|i)
	return sid
}

func spanIDHex(trace, i uint64) string {
	id := spanIDFor(trace, i)
	return fmt.Sprintf("%x", id[:])
}

// sendResult tallies what senders saw.
type sendResult struct {
	mu                sync.Mutex
	acked             []uint64 // traces answered 200
	refused           atomic.Int64
	retryAfterMissing atomic.Int64
	other             atomic.Int64
}

// sendUntil sends traces from workers until stop is closed. Traces refused
// with 503 are resent after a pause, as OTLP exporters do.
func sendUntil(url string, workers, padding int, next *atomic.Uint64, res *sendResult, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1)
				body := traceRequest(n, padding)
				for {
					resp, err := client.Post(url+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
					if err != nil {
						res.other.Add(1) // the server died mid-request: not acknowledged
						break
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						res.mu.Lock()
						res.acked = append(res.acked, n)
						res.mu.Unlock()
						break
					}
					if resp.StatusCode == http.StatusServiceUnavailable {
						res.refused.Add(1)
						if resp.Header.Get("Retry-After") == "" {
							res.retryAfterMissing.Add(1)
						}
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						continue
					}
					res.other.Add(1)
					break
				}
			}
		}()
	}
	return &wg
}

// storedSpanIDs pages through a project's spans.
func storedSpanIDs(t *testing.T, srv *e2etest.Server, project string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	path := "/v1/projects/" + project + "/spans?limit=1000"
	for {
		var page spanPage
		srv.GetJSON(t, path, &page)
		for _, s := range page.Data {
			if ids[s.Context.SpanID] {
				t.Fatalf("span %s returned twice", s.Context.SpanID)
			}
			ids[s.Context.SpanID] = true
		}
		if page.NextCursor == nil {
			return ids
		}
		path = "/v1/projects/" + project + "/spans?limit=1000&cursor=" + *page.NextCursor
	}
}

func checkAcknowledgedStored(t *testing.T, srv *e2etest.Server, acked []uint64) {
	t.Helper()
	stored := storedSpanIDs(t, srv, "durable")
	missing := 0
	for _, n := range acked {
		for i := uint64(0); i < spansPerTrace; i++ {
			if !stored[spanIDHex(n, i)] {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged spans are missing (of %d acknowledged)", missing, len(acked)*spansPerTrace)
	}
	t.Logf("%d traces acknowledged, %d spans stored", len(acked), len(stored))
}

// TestKillNineLosesNothingAcknowledged crashes the server while clients
// send, restarts it on the same data, and checks every acknowledged span.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	bin := e2etest.Build(t)
	srv := e2etest.Start(t, bin)
	res := &sendResult{}
	var next atomic.Uint64
	stop := make(chan struct{})
	wg := sendUntil(srv.HTTPURL, 8, 500, &next, res, stop)
	waitFor(t, "acknowledged traces", func() bool {
		res.mu.Lock()
		defer res.mu.Unlock()
		return len(res.acked) >= 200
	})
	srv.Kill(t)
	close(stop)
	wg.Wait()

	again := e2etest.Start(t, bin, "--data-dir", srv.DataDir)
	checkAcknowledgedStored(t, again, res.acked)
	again.Stop(t)
}

// TestOverloadRefusesAndStaysBounded sends more than a small queue holds,
// from more clients than the bodies waiting for room may be: requests past
// those are refused with 503 and Retry-After, memory stays bounded, and
// everything acknowledged is stored.
func TestOverloadRefusesAndStaysBounded(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t), "--queue-spans", "100", "--batch-spans", "50", "--inflight-size", "64KiB")
	res := &sendResult{}
	var next atomic.Uint64
	stop := make(chan struct{})
	wg := sendUntil(srv.HTTPURL, 32, 4000, &next, res, stop)
	peak := int64(0)
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) && (res.refused.Load() < 20 || time.Now().Before(deadline.Add(-2*time.Second))) {
		peak = max(peak, rssKB(t, srv.Cmd.Process.Pid))
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if res.refused.Load() == 0 {
		t.Fatal("no request was refused although the queue holds 100 spans, 64 KiB of bodies may wait, and 32 clients send")
	}
	if n := res.retryAfterMissing.Load(); n > 0 {
		t.Errorf("%d refusals came without Retry-After", n)
	}
	if n := res.other.Load(); n > 0 {
		t.Errorf("%d requests failed otherwise than by refusal", n)
	}
	if peak > 300*1024 {
		t.Errorf("peak RSS %d MB, want at most 300 MB under overload", peak/1024)
	}
	t.Logf("refused %d requests; peak RSS %d MB", res.refused.Load(), peak/1024)
	checkAcknowledgedStored(t, srv, res.acked)
	srv.Stop(t)
}

func rssKB(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("cannot read RSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
