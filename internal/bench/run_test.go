package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench"
	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/server"
)

// startServer runs a Loupe server in the test's process until the test
// ends, its configuration changed by options.
func startServer(t *testing.T, options ...func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GRPCAddr = "127.0.0.1:0"
	for _, o := range options {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv
}

func TestRunAgainstServer(t *testing.T) {
	srv := startServer(t)
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			cfg := bench.DefaultConfig()
			cfg.URL = "http://" + srv.HTTPAddr()
			cfg.GRPCAddr = srv.GRPCAddr()
			cfg.Protocol = protocol
			cfg.Apps = 2
			cfg.Batch = 128
			cfg.Duration = time.Second
			cfg.Project = "bench-" + protocol
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v (result %+v)", err, res)
			}
			if res.SpansAcked == 0 || res.SpansFailed != 0 || res.SpansAcked != res.SpansSent {
				t.Fatalf("sent %d, acknowledged %d, failed %d (first error %q): want all acknowledged",
					res.SpansSent, res.SpansAcked, res.SpansFailed, res.FirstError)
			}
			if res.BytesAcked == 0 || res.AckP50Ms <= 0 || res.AckMaxMs < res.AckP99Ms {
				t.Errorf("implausible figures: %+v", res)
			}

			resp, err := http.Get(fmt.Sprintf("http://%s/v1/projects/%s/spans?limit=10", srv.HTTPAddr(), cfg.Project))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var page struct {
				Data []struct {
					Name     string `json:"name"`
					SpanKind string `json:"span_kind"`
				} `json:"data"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("list spans: status %d, %v", resp.StatusCode, err)
			}
			if len(page.Data) == 0 {
				t.Fatal("the REST API lists no span of the project")
			}
			if page.Data[0].SpanKind == "" || page.Data[0].SpanKind == "UNKNOWN" {
				t.Errorf("stored span %q has kind %q", page.Data[0].Name, page.Data[0].SpanKind)
			}
		})
	}
}

// TestRunWithAPIKey sends to a server with authentication on: with a key
// every span is acknowledged, over both protocols; without one none is.
func TestRunWithAPIKey(t *testing.T) {
	const adminSecret = "a-bench-admin-secret-of-32-characters-or-more-1"
	srv := startServer(t, func(c *server.Config) {
		c.EnableAuth = true
		c.Secret = server.Secret{Value: "a-bench-secret-of-at-least-32-characters-2", From: "LOUPE_SECRET"}
		c.AdminSecret = server.Secret{Value: adminSecret, From: "LOUPE_ADMIN_SECRET"}
	})
	req, _ := http.NewRequest("POST", "http://"+srv.HTTPAddr()+"/v1/system/api_keys", strings.NewReader(`{"data":{"name":"bench"}}`))
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Data struct{ Key string } }
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a key: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	for _, protocol := range []string{"http", "grpc"} {
		for _, key := range []string{created.Data.Key, ""} {
			cfg := bench.DefaultConfig()
			cfg.URL, cfg.GRPCAddr, cfg.Protocol = "http://"+srv.HTTPAddr(), srv.GRPCAddr(), protocol
			cfg.Apps, cfg.Batch, cfg.Traces = 1, 64, 20
			cfg.APIKey = key
			res, err := bench.Run(context.Background(), cfg)
			switch {
			case key != "" && (err != nil || res.SpansAcked != res.SpansSent || res.SpansAcked == 0):
				t.Errorf("%s with a key: acknowledged %d of %d, %v", protocol, res.SpansAcked, res.SpansSent, err)
			case key == "" && (!errors.Is(err, bench.ErrNothingAcknowledged) || res.SpansAcked != 0):
				t.Errorf("%s without a key: acknowledged %d, %v; want none", protocol, res.SpansAcked, err)
			}
		}
	}
}

// receiver is an OTLP/HTTP endpoint that refuses its first requests and
// counts what it accepts.
type receiver struct {
	refuse atomic.Int64 // requests left to refuse
	mu     sync.Mutex
	spans  int
	bytes  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.refuse.Add(-1) >= 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "at capacity", http.StatusServiceUnavailable)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.spans += req.Traces().SpanCount()
	rc.bytes += len(body)
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func runAgainst(t *testing.T, rc *receiver, mutate func(*bench.Config)) bench.Result {
	t.Helper()
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	cfg := bench.DefaultConfig()
	cfg.URL = ts.URL
	cfg.Apps = 2
	cfg.Batch = 100
	cfg.Duration = 20 * time.Second
	cfg.Traces = 200
	cfg.Seed = 1
	mutate(&cfg)
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestRefusedRequestsAreCountedAndResent(t *testing.T) {
	rc := &receiver{}
	rc.refuse.Store(5)
	res := runAgainst(t, rc, func(*bench.Config) {})
	if res.ReqsRefused != 5 || res.SpansRefused == 0 {
		t.Errorf("counted %d refused requests (%d spans), want 5", res.ReqsRefused, res.SpansRefused)
	}
	if res.SpansFailed != 0 || res.SpansAcked != res.SpansSent || int(res.SpansAcked) != rc.spans {
		t.Errorf("sent %d, acknowledged %d, failed %d, received %d: want every span delivered once",
			res.SpansSent, res.SpansAcked, res.SpansFailed, rc.spans)
	}
	if res.Traces != 200 {
		t.Errorf("sent %d traces, want the 200 of --traces", res.Traces)
	}
}

// TestAgentWireSize checks the span size on the real exporter's wire: what
// the OpenTelemetry SDK adds to the generated attributes counts too.
func TestAgentWireSize(t *testing.T) {
	rc := &receiver{}
	res := runAgainst(t, rc, func(*bench.Config) {})
	perSpan := float64(rc.bytes) / float64(rc.spans)
	if perSpan < 1200 || perSpan > 1800 {
		t.Errorf("agent spans average %.0f B on the wire, want 1.2–1.8 KB", perSpan)
	}
	if int(res.BytesAcked) != rc.bytes {
		t.Errorf("counted %d bytes acknowledged, the receiver got %d", res.BytesAcked, rc.bytes)
	}
}

func TestRateIsPaced(t *testing.T) {
	rc := &receiver{}
	start := time.Now()
	res := runAgainst(t, rc, func(c *bench.Config) {
		c.Shape = agentgen.Small
		c.Rate = 2000
		c.Traces = 0
		c.Duration = time.Second
	})
	took := time.Since(start)
	// One second at 2,000 spans/s, plus a trace per app at most. Fewer is
	// possible on a busy machine; more means the pacing does not hold.
	if res.SpansSent == 0 || res.SpansSent > 2100 {
		t.Errorf("sent %d spans in one second paced at 2,000/s", res.SpansSent)
	}
	// Generous: this catches a run that ignores its duration, not a slow machine.
	if took > 15*time.Second {
		t.Errorf("a one-second run took %v", took)
	}
}

func TestNothingAcknowledgedIsAnError(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer ts.Close()
	cfg := bench.DefaultConfig()
	cfg.URL = ts.URL
	cfg.Apps = 1
	cfg.Duration = 300 * time.Millisecond
	res, err := bench.Run(context.Background(), cfg)
	if err == nil || res.SpansFailed == 0 || !strings.Contains(res.FirstError, "400") {
		t.Fatalf("Run = %v with %d failed spans (first error %q); want ErrNothingAcknowledged and failures",
			err, res.SpansFailed, res.FirstError)
	}
}

func TestResultTable(t *testing.T) {
	var b strings.Builder
	r := bench.Result{Protocol: "http", SpanSize: "agent", Apps: 8, Batch: 512, Seconds: 20,
		SpansSent: 1234567, SpansAcked: 1234567, Requests: 2412, SpansPerSec: 61728.35, AckP50Ms: 12.5, AckP99Ms: 80, AckMaxMs: 95}
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1,234,567", "2,412", "61,728 spans/s", "p99 80.0 ms", "refused (resent)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestOverloadedRunEndsOnTime checks that a server refusing everything
// cannot keep a run going past its duration and drain.
func TestOverloadedRunEndsOnTime(t *testing.T) {
	rc := &receiver{}
	rc.refuse.Store(1 << 40)
	ts := httptest.NewServer(rc)
	defer ts.Close()
	cfg := bench.DefaultConfig()
	cfg.URL = ts.URL
	cfg.Apps = 4
	cfg.Duration = 500 * time.Millisecond
	cfg.Drain = 500 * time.Millisecond
	start := time.Now()
	res, err := bench.Run(context.Background(), cfg)
	// Generous: this catches a run that never ends, not a slow machine.
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("run of 0.5 s plus 0.5 s of drain took %v", took)
	}
	if !errors.Is(err, bench.ErrNothingAcknowledged) {
		t.Errorf("Run = %v, want ErrNothingAcknowledged", err)
	}
	if res.ReqsRefused == 0 || res.SpansFailed != res.SpansSent || res.SpansSent == 0 {
		t.Errorf("refused %d requests, sent %d spans, failed %d: want refusals and every span failed",
			res.ReqsRefused, res.SpansSent, res.SpansFailed)
	}
}

// A run prints a line of progress each interval, and one that runs out of
// traces stops at once, not at the end of its duration.
func TestProgress(t *testing.T) {
	var out bytes.Buffer
	rc := &receiver{}
	res := runAgainst(t, rc, func(c *bench.Config) {
		c.Shape = agentgen.Small
		c.Rate = 2000
		c.Traces = 0
		c.Duration = 1200 * time.Millisecond
		c.Progress, c.ProgressEvery = &out, 250*time.Millisecond
	})
	line := regexp.MustCompile(`^ +[0-9.]+m?s +[0-9,]+ spans/s +[0-9,]+ refused requests$`)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines of progress in 1.2 s at every 250 ms:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("progress line %q", l)
		}
	}
	if res.SpansAcked == 0 {
		t.Error("nothing acknowledged")
	}

	start := time.Now()
	runAgainst(t, &receiver{}, func(c *bench.Config) {
		c.Progress, c.ProgressEvery = io.Discard, 250*time.Millisecond
	})
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("a run of 200 traces with progress took %v, as long as its 20 s duration", took)
	}
}
