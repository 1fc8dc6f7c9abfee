package reliability_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the test client compresses, as exporters may
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// rssBound is what Loupe promises to stay under at its default settings,
// whatever it is sent.
const rssBound = 300 << 20

// peakRSS is the most memory the process has held (VmHWM).
func peakRSS(t *testing.T, srv *e2etest.Server) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Cmd.Process.Pid))
	if err != nil {
		t.Skipf("cannot read the server's memory use here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", srv.Cmd.Process.Pid)
	return 0
}

// alive fails the test unless the server still answers.
func alive(t *testing.T, srv *e2etest.Server) {
	t.Helper()
	if got := srv.GetText(t, "/healthz"); got != "OK" {
		t.Fatalf("/healthz = %q", got)
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestCompressedBodiesStayWithinMemory sends, all at once, many small
// compressed requests that inflate to nearly the body limit each: over
// HTTP 64 of 64 KB that inflate to 63 MiB (the build before peaked at
// 2.6 GB), over gRPC 16 of 15 KB that inflate to 15 MB (gRPC itself would
// inflate all 16 at once). The server refuses what it cannot hold, as
// retryable, stays within its memory bound, and keeps serving.
func TestCompressedBodiesStayWithinMemory(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))

	bomb := gzipBytes(make([]byte, 63<<20))
	answers := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.HTTPURL+"/v1/traces", bytes.NewReader(bomb))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("HTTP: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("HTTP 503 without Retry-After")
			}
			mu.Lock()
			answers[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Zeros are no valid request: what is read is refused as bad input.
	if answers[http.StatusServiceUnavailable] == 0 || answers[http.StatusBadRequest]+answers[http.StatusServiceUnavailable] != 64 {
		t.Errorf("HTTP answers = %v, want 400 for the bodies read and 503 for those refused", answers)
	}
	alive(t, srv)

	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	zeros := make([]byte, 15_000_000)
	codes := map[string]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out []byte
			err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &zeros, &out,
				grpc.ForceCodecV2(rawCodec{}), grpc.UseCompressor("gzip"))
			mu.Lock()
			codes[status.Code(err).String()]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The server inflates a gzip message itself, within the budget: how
	// many it refuses depends on how they overlap.
	if codes["ResourceExhausted"]+codes["InvalidArgument"] != 16 {
		t.Errorf("gRPC answers = %v, want INVALID_ARGUMENT for what was read and RESOURCE_EXHAUSTED for what was refused", codes)
	}
	alive(t, srv)
	if peak := peakRSS(t, srv); peak > rssBound {
		t.Errorf("peak RSS %d MiB, over the %d MiB bound", peak>>20, rssBound>>20)
	} else {
		t.Logf("peak RSS %d MiB", peak>>20)
	}
	srv.Stop(t)
}

// rawCodec sends bytes as they are, valid messages or not.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}
