// Package storage_test checks the real server against its storage failing
// and coming back: a disk that fills up while it runs and one that is full
// when it starts, and data directories named relative to where it runs.
package storage_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/diskfull"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// traces encodes OTLP/protobuf traces first to first+n-1 of project, two
// spans each, each span carrying about pad bytes of input.
func traces(project string, first, n, pad int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("openinference.project.name", project)
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	input := strings.Repeat("x", pad)
	for i := first; i < first+n; i++ {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(i))
		for s := range 2 {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(spanID(i, s))
			if s == 1 {
				sp.SetParentSpanID(spanID(i, 0))
			}
			sp.SetName("turn")
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Second)))
			sp.Attributes().PutStr("input.value", fmt.Sprintf("%d %s", i, input))
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func spanID(trace, n int) pcommon.SpanID {
	var sid pcommon.SpanID
	binary.BigEndian.PutUint64(sid[:], uint64(trace)<<8|uint64(n)+1)
	return sid
}

// post sends body and returns the status, the Retry-After header and the
// body of the answer.
func post(t *testing.T, url, contentType string, body []byte) (int, string, string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

func sendOTLP(t *testing.T, srv *e2etest.Server, body []byte) (int, string, string) {
	t.Helper()
	return post(t, srv.HTTPURL+"/v1/traces", "application/x-protobuf", body)
}

// readyz returns GET /readyz's status and body.
func readyz(t *testing.T, srv *e2etest.Server) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.HTTPURL + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitReady polls /readyz until it answers 200; the server checks the
// store every few seconds while writes fail.
func waitReady(t *testing.T, srv *e2etest.Server) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := readyz(t, srv)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz still %d %s a minute after space was freed", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// spanCount pages through a project's spans and counts them.
func spanCount(t *testing.T, srv *e2etest.Server, project string) int {
	t.Helper()
	n := 0
	path := "/v1/projects/" + project + "/spans?limit=1000"
	for {
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
		}
		srv.GetJSON(t, path, &page)
		n += len(page.Data)
		if page.NextCursor == nil {
			return n
		}
		path = "/v1/projects/" + project + "/spans?limit=1000&cursor=" + *page.NextCursor
	}
}

// upload is one span for POST /v1/projects/{project}/spans.
func upload(trace int) []byte {
	return []byte(fmt.Sprintf(`{"data":[{"name":"uploaded","context":{"trace_id":"%032x","span_id":"%016x"},
		"span_kind":"CHAIN","start_time":"2026-12-07T10:00:00Z","end_time":"2026-12-07T10:00:01Z","status_code":"OK",
		"attributes":{}}]}`, trace, trace))
}

// notReadyBody is what /readyz says while writes fail for want of space.
const notReadyBody = `{"status":"not ready","reason":"writes are failing: storage unavailable","since":"`

// TestFullDiskAtStart starts the server on a disk that filled while it
// was stopped: it starts, serves reads, says it is not ready, refuses
// spans with a retryable answer, and takes them again by itself once
// space is freed.
func TestFullDiskAtStart(t *testing.T) {
	dir := diskfull.Mount(t, 32<<20)
	bin := e2etest.Build(t)
	args := []string{"--data-dir", filepath.Join(dir, "data"), "--retention-days", "30"}
	srv := e2etest.Start(t, bin, args...)
	if code, _, body := sendOTLP(t, srv, traces("full", 1, 50, 1000)); code != http.StatusOK {
		t.Fatalf("send before the disk filled: %d %s", code, body)
	}
	srv.Stop(t)
	free := diskfull.Fill(t, dir)

	srv = e2etest.StartWith(t, bin, e2etest.Options{NotReady: true}, args...)
	if code, body := readyz(t, srv); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, notReadyBody) {
		t.Errorf("GET /readyz on a full disk = %d %s, want 503 %s…", code, body, notReadyBody)
	}
	if !strings.Contains(srv.Output(), "the database takes no writes: serving reads only") {
		t.Errorf("the log does not say the server serves reads only:\n%s", srv.Output())
	}
	if n := spanCount(t, srv, "full"); n != 100 {
		t.Errorf("read on a full disk: %d spans, want 100", n)
	}
	resp, err := http.Get(srv.HTTPURL + "/projects/full")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("UI on a full disk: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	code, retry, body := post(t, srv.HTTPURL+"/v1/projects/full/spans", "application/json", upload(1000))
	if code != http.StatusServiceUnavailable || retry == "" || strings.Contains(body, dir) {
		t.Errorf("upload on a full disk = %d, Retry-After %q, %q; want 503, a Retry-After and no path", code, retry, body)
	}
	// The OTLP receivers choose their own answer to a store that is
	// unavailable; here it need only be a refusal.
	if code, _, body := sendOTLP(t, srv, traces("full", 100, 5, 1000)); code == http.StatusOK {
		t.Errorf("OTLP on a full disk = %d %s, want a refusal", code, body)
	}

	free()
	waitReady(t, srv)
	if code, _, body := sendOTLP(t, srv, traces("full", 100, 5, 1000)); code != http.StatusOK {
		t.Errorf("send once space is back: %d %s", code, body)
	}
	// The refused upload and export stayed queued and were written once
	// space came back; the export sent again was not stored twice.
	if n := spanCount(t, srv, "full"); n != 111 {
		t.Errorf("spans once space is back: %d, want 111", n)
	}
	if !strings.Contains(srv.Output(), "write spans: recovered after") {
		t.Errorf("the log does not say writes recovered:\n%s", srv.Output())
	}
	srv.Stop(t)
}

// TestDiskFillsWhileRunning fills the disk under a server taking spans:
// the requests are answered as ones to send again, /readyz says why, the
// log says so in a few lines rather than one per request, and once space
// is freed the spans those requests left queued are written and all goes
// on.
func TestDiskFillsWhileRunning(t *testing.T) {
	dir := diskfull.Mount(t, 32<<20)
	srv := e2etest.Start(t, e2etest.Build(t), "--data-dir", filepath.Join(dir, "data"))
	if code, _, body := sendOTLP(t, srv, traces("fill", 1, 20, 1000)); code != http.StatusOK {
		t.Fatalf("send before the disk filled: %d %s", code, body)
	}
	free := diskfull.Fill(t, dir)
	const requests, perRequest = 20, 20
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Larger than the log the writer can still reuse.
			code, retry, _ := sendOTLP(t, srv, traces("fill", 1000+i*perRequest, perRequest, 20_000))
			if code == http.StatusServiceUnavailable && retry != "" {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := refused.Load(); n < requests-2 {
		t.Errorf("%d of %d requests answered 503 with Retry-After on a full disk, want nearly all", n, requests)
	}
	if code, body := readyz(t, srv); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, notReadyBody) {
		t.Errorf("GET /readyz on a full disk = %d %s, want 503 %s…", code, body, notReadyBody)
	}
	if n := strings.Count(srv.Output(), `msg="write spans"`); n == 0 || n > 5 {
		t.Errorf("%d refused requests logged %d write failures, want a few:\n%s", refused.Load(), n, srv.Output())
	}
	if n := spanCount(t, srv, "fill"); n < 40 {
		t.Errorf("read on a full disk: %d spans, want the 40 sent before at least", n)
	}

	free()
	waitReady(t, srv)
	if code, _, body := sendOTLP(t, srv, traces("fill", 10_000, 5, 1000)); code != http.StatusOK {
		t.Errorf("send once space is back: %d %s", code, body)
	}
	if n, want := spanCount(t, srv, "fill"), 40+2*requests*perRequest+10; n != want {
		t.Errorf("spans once space is back: %d, want %d: those of the refused requests were kept and written", n, want)
	}
	if !strings.Contains(srv.Output(), "write spans: recovered after") {
		t.Errorf("the log does not say writes recovered:\n%s", srv.Output())
	}
	srv.Stop(t)
}

// TestRelativeDataDir runs the server from a directory of its own with a
// relative --data-dir whose name has a space, a '#' and a '%'.
func TestRelativeDataDir(t *testing.T) {
	work := t.TempDir()
	srv := e2etest.StartWith(t, e2etest.Build(t), e2etest.Options{Dir: work}, "--data-dir", "my data #1 100%")
	if code, _, body := sendOTLP(t, srv, traces("relative", 1, 3, 10)); code != http.StatusOK {
		t.Fatalf("send: %d %s", code, body)
	}
	if n := spanCount(t, srv, "relative"); n != 6 {
		t.Errorf("%d spans read back, want 6", n)
	}
	srv.Stop(t)
	if _, err := os.Stat(filepath.Join(work, "my data #1 100%", "loupe.db")); err != nil {
		t.Errorf("database not where --data-dir named it: %v", err)
	}
}
