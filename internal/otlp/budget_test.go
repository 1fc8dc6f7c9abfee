package otlp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	r1, err := b.reserve(60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.reserve(50); !errors.Is(err, errOverBudget) {
		t.Fatalf("reserve past the limit: %v, want errOverBudget", err)
	}
	r2, err := b.reserve(40)
	if err != nil {
		t.Fatalf("reserve up to the limit: %v", err)
	}
	if r2.atLeast(41) {
		t.Error("a younger request grew past the limit")
	}
	// The oldest goes on past the budget, so that racing requests cannot
	// all be cut short.
	if !r1.atLeast(70) || b.Used() != 110 || !r1.resize(60) {
		t.Fatalf("the oldest request could not grow: used %d", b.Used())
	}
	if !r2.atLeast(30) || b.Used() != 100 {
		t.Errorf("atLeast below what is held changed it: used %d", b.Used())
	}
	r1.release()
	r1.release() // a second release does nothing
	if b.Used() != 40 {
		t.Errorf("used = %d after release, want 40", b.Used())
	}
	// Alone, a request may take more than the budget.
	r2.release()
	big, err := b.reserve(500)
	if err != nil || b.Used() != 500 {
		t.Fatalf("a lone request was refused: %v (used %d)", err, b.Used())
	}
	if _, err := b.reserve(1); err == nil {
		t.Error("a second request fit beside one over the budget")
	}
	big.resize(10)
	if b.Used() != 10 {
		t.Errorf("used = %d after shrinking, want 10", b.Used())
	}
	big.release()
	if b.Refused() != 3 {
		t.Errorf("refused = %d, want 3", b.Refused())
	}
	if b.holders.Len() != 0 {
		t.Errorf("%d holders left after every release", b.holders.Len())
	}
	var none *Budget
	r, err := none.reserve(1 << 40)
	if err != nil || !r.atLeast(1<<50) {
		t.Error("a nil budget limited")
	}
	r.release()
}

// TestHTTPBodiesWithinBudget sends many small compressed bodies that each
// inflate to nearly the body limit, all at once, while decoding is held
// up: the bodies that do not fit are refused as retryable, and the bodies
// held at once never pass the budget.
func TestHTTPBodiesWithinBudget(t *testing.T) {
	const limit = 1 << 20
	budget := NewBudget(2 * limit)
	slots := NewDecodeSlots(1)
	slots <- struct{}{} // every body read waits to be decoded, holding its share
	mux := (&HTTPHandler{Ingest: &recorder{}, MaxBodyBytes: limit, Budget: budget, Slots: slots,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Zeros are not a valid request: the bodies read are refused once
	// decoded. What matters is what they held meanwhile.
	bomb := gzipped(bytes.Repeat([]byte{0}, limit-1))
	const n = 32
	answers := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/traces", bytes.NewReader(bomb))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				answers <- 0
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable &&
				(resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "receiving as much as it can hold")) {
				t.Errorf("503 without Retry-After or with %q", body)
			}
			answers <- resp.StatusCode
		}()
	}
	// At most two bodies of a MiB fit in two MiB: the others are answered
	// while those two wait.
	got := map[int]int{}
	for range n - 2 {
		select {
		case code := <-answers:
			got[code]++
		case <-time.After(30 * time.Second):
			t.Fatalf("after %v answers, the rest wait holding their bodies: nothing was refused", got)
		}
	}
	<-slots
	for range 2 {
		got[<-answers]++
	}
	if got[http.StatusServiceUnavailable] < n-2 || got[http.StatusBadRequest] == 0 ||
		got[http.StatusBadRequest]+got[http.StatusServiceUnavailable] != n {
		t.Errorf("answers = %v, want at least %d refused (503), the rest read (400)", got, n-2)
	}
	// A buffer is charged its capacity, which bytes.Buffer doubles past
	// what it holds: the budget plus one such step bounds what is held.
	if budget.peak > 3*limit {
		t.Errorf("bodies held at once peaked at %d bytes, budget %d", budget.peak, 2*limit)
	}
	if budget.Used() != 0 {
		t.Errorf("%d bytes still held after every request ended", budget.Used())
	}
}

// TestGRPCAdmission checks that an export is refused before its message
// is read when the queue is full or the budget is spent, that a compressed
// message is inflated within the budget and the size limit, and that every
// share is given back.
func TestGRPCAdmission(t *testing.T) {
	budget := NewBudget(4 << 20)
	rec := &recorder{}
	conn := startGRPCService(t, &GRPCService{Ingest: rec, Budget: budget, MaxRecvBytes: 1 << 20,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pb := protoBody(t, testTraces("p", false))
	export := func(body []byte, opts ...grpc.CallOption) error {
		var out []byte
		return conn.Invoke(context.Background(), exportMethod, &body, &out, append(opts, grpc.ForceCodecV2(rawCodec{}))...)
	}
	gzipped := grpc.UseCompressor("gzip")
	if err := export(pb); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := export(pb, gzipped); err != nil || len(rec.spans) != 2 {
		t.Fatalf("compressed export: %v (%d spans stored)", err, len(rec.spans))
	}
	held, _ := budget.reserve(4 << 20)
	err := export(pb)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !hasRetryInfo(st) {
		t.Errorf("export with the budget spent: %v, want RESOURCE_EXHAUSTED with RetryInfo", err)
	}
	held.release()
	if err := export(pb); err != nil {
		t.Errorf("export after the budget freed: %v", err)
	}
	// Inflating past the message limit is permanent, as gRPC's own is.
	err = export(make([]byte, 2<<20), gzipped)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || hasRetryInfo(st) || !strings.Contains(st.Message(), "after decompression") {
		t.Errorf("compressed past the limit: %v, want RESOURCE_EXHAUSTED without RetryInfo", err)
	}
	// Inflating past what the budget holds beside another request is
	// refused as retryable.
	held, _ = budget.reserve(3<<20 + 512<<10)
	err = export(make([]byte, 1<<20-1), gzipped)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !hasRetryInfo(st) {
		t.Errorf("compressed past the budget: %v, want RESOURCE_EXHAUSTED with RetryInfo", err)
	}
	held.release()
	// Bytes that open like gzip but are not are no request either.
	if err := export([]byte("\x1f\x8bnot gzip")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("broken gzip: %v, want INVALID_ARGUMENT", err)
	}
	waitFor(t, func() bool { return budget.Used() == 0 }, "every export's share given back")
}

// waitFor polls cond until it holds, failing after a generous while: the
// release of a gRPC stream's share follows the stream's end.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
