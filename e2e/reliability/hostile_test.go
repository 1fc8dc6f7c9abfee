package reliability_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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
	// many it refuses depends on how they overlap. A request waits for room
	// in the budget up to its deadline, which a slow machine can reach.
	if codes["ResourceExhausted"]+codes["InvalidArgument"]+codes["DeadlineExceeded"] != 16 || codes["InvalidArgument"] == 0 {
		t.Errorf("gRPC answers = %v, want INVALID_ARGUMENT for what was read and RESOURCE_EXHAUSTED or the deadline for the rest", codes)
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

// deepRequest is an OTLP/protobuf export request of one span whose
// attribute "deep" is a map in a map … levels deep (or a list in a list),
// written out directly: building it as a value would need the recursion
// it tests.
func deepRequest(levels int, maps bool) []byte {
	// Each level is an AnyValue holding a KeyValueList of one KeyValue
	// {"k": AnyValue}, or an ArrayValue of one AnyValue.
	wrap := func(inner int) (outer, list, kv int) {
		if maps {
			kv = 3 + 1 + uvarintLen(inner) + inner // key "k", value
			list = 1 + uvarintLen(kv) + kv
		} else {
			list = 1 + uvarintLen(inner) + inner
		}
		return 1 + uvarintLen(list) + list, list, kv
	}
	sizes := make([]int, levels+1) // of the AnyValue i levels from the bottom
	sizes[0] = 3                   // string_value "x"
	for i := 1; i <= levels; i++ {
		sizes[i], _, _ = wrap(sizes[i-1])
	}
	value := make([]byte, 0, sizes[levels])
	for i := levels; i >= 1; i-- {
		_, list, kv := wrap(sizes[i-1])
		if maps {
			value = binary.AppendUvarint(append(value, 0x32), uint64(list)) // AnyValue.kvlist_value
			value = binary.AppendUvarint(append(value, 0x0a), uint64(kv))   // KeyValueList.values
			value = append(value, 0x0a, 0x01, 'k', 0x12)                    // KeyValue.key, KeyValue.value
			value = binary.AppendUvarint(value, uint64(sizes[i-1]))
		} else {
			value = binary.AppendUvarint(append(value, 0x2a), uint64(list)) // AnyValue.array_value
			value = binary.AppendUvarint(append(value, 0x0a), uint64(sizes[i-1]))
		}
	}
	value = append(value, 0x0a, 0x01, 'x')

	field := func(tag byte, payload []byte) []byte {
		return append(binary.AppendUvarint([]byte{tag}, uint64(len(payload))), payload...)
	}
	kv := append(field(0x0a, []byte("deep")), field(0x12, value)...)
	sp := field(0x0a, bytes.Repeat([]byte{1}, 16))                    // trace_id
	sp = append(sp, field(0x12, bytes.Repeat([]byte{2}, 8))...)       // span_id
	sp = append(sp, field(0x2a, []byte("deep"))...)                   // name
	sp = binary.LittleEndian.AppendUint64(append(sp, 0x39), 1.7e18)   // start_time_unix_nano
	sp = binary.LittleEndian.AppendUint64(append(sp, 0x41), 1.7e18+1) // end_time_unix_nano
	sp = append(sp, field(0x4a, kv)...)                               // attributes
	return field(0x0a, field(0x12, field(0x12, sp)))                  // resource_spans, scope_spans, spans
}

func uvarintLen(n int) int { return len(binary.AppendUvarint(nil, uint64(n))) }

// TestDeepValuesCannotCrashTheServer sends a value nested a million
// levels deep, which made the build before die of a stack overflow in
// the protobuf decoder: refused as bad input, over both protocols, and
// the server keeps serving.
func TestDeepValuesCannotCrashTheServer(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	for _, maps := range []bool{true, false} {
		code, body := postOTLP(t, srv, deepRequest(1_000_000, maps))
		if code != http.StatusBadRequest || !strings.Contains(body, "nests deeper than 256 levels") {
			t.Errorf("HTTP, maps %v = %d %q, want 400 saying how deep values may nest", maps, code, body)
		}
		alive(t, srv)
	}
	deep := deepRequest(900_000, true) // within the 16 MiB a gRPC message may take

	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []byte
	err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &deep, &out,
		grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20))
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "nests deeper than 256 levels") {
		t.Errorf("gRPC = %v, want INVALID_ARGUMENT saying how deep values may nest", err)
	}
	alive(t, srv)
	// Shallow enough to decode, deeper than is stored: kept, and readable.
	if code, body := postOTLP(t, srv, deepRequest(200, true)); code != http.StatusOK {
		t.Fatalf("a value 200 levels deep = %d %q, want stored", code, body)
	}
	var page struct {
		Data []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects/default/spans", &page)
	if len(page.Data) != 1 || page.Data[0].Attributes["deep"] == nil {
		t.Errorf("the span with a deep value does not read back: %+v", page.Data)
	}
	srv.Stop(t)
}

func postOTLP(t *testing.T, srv *e2etest.Server, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(srv.HTTPURL+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v1/traces: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
