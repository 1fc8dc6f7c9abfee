package otlp

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/span"
)

// recorder is a Submitter that keeps what it is given, or fails with err.
type recorder struct {
	mu       sync.Mutex
	spans    []span.Span
	err      error
	admitErr error // refuses before decoding
}

func (r *recorder) Admit() error { return r.admitErr }

func (r *recorder) AwaitRoom(context.Context) error { return r.admitErr }

func (r *recorder) Submit(_ context.Context, spans []span.Span) error {
	if r.err != nil {
		return r.err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, spans...)
	return nil
}

var (
	tid = pcommon.TraceID([16]byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c})
	sid = pcommon.SpanID([8]byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74})
)

// testTraces builds one resource with the given project attribute (none if
// empty) holding a valid span and, if bad is set, one with an empty span id.
func testTraces(project string, bad bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if project != "" {
		rs.Resource().Attributes().PutStr(span.AttrProjectName, project)
	}
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("openinference.instrumentation.openai")
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID(tid)
	sp.SetSpanID(sid)
	sp.SetName("ChatCompletion")
	sp.SetStartTimestamp(1_700_000_000_000_000_000)
	sp.SetEndTimestamp(1_700_000_001_000_000_000)
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("boom")
	sp.Attributes().PutStr(span.AttrSpanKind, "LLM")
	sp.Attributes().PutInt(span.AttrTokensPrompt, 12)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "boom")
	if bad {
		b := ss.Spans().AppendEmpty()
		b.SetTraceID(tid)
		b.SetName("no id")
	}
	return td
}

func TestDecode(t *testing.T) {
	d := Decode(testTraces("proj", true), "")
	if len(d.Spans) != 1 || d.Rejected != 1 || !strings.Contains(d.Message, "empty span_id") {
		t.Fatalf("Decode = %d spans, %d rejected (%q); want 1 and 1", len(d.Spans), d.Rejected, d.Message)
	}
	s := d.Spans[0]
	if s.TraceID != "5b8efff798038103d269b633813fc60c" || s.SpanID != "eee19b7ec3c1b174" || s.ParentID != "" {
		t.Errorf("ids = %s %s %q", s.TraceID, s.SpanID, s.ParentID)
	}
	if s.Project != "proj" || s.View.Kind != span.KindLLM || s.StatusCode != span.StatusError || s.StatusMessage != "boom" {
		t.Errorf("span = %+v", s)
	}
	if s.View.Tokens.Prompt != 12 || len(s.Events) != 1 || s.Scope.Name != "openinference.instrumentation.openai" {
		t.Errorf("span = %+v", s)
	}
	if got := s.Resource.GetString("service.name"); got != "svc" {
		t.Errorf("resource service.name = %q", got)
	}
}

func TestDecodeProject(t *testing.T) {
	tests := []struct{ header, resource, want string }{
		{"", "", "default"},
		{"", "from-resource", "from-resource"},
		{"from-header", "from-resource", "from-header"},
		{"  ", "  ", "default"},
	}
	for _, tc := range tests {
		if got := Decode(testTraces(tc.resource, false), tc.header).Spans[0].Project; got != tc.want {
			t.Errorf("header %q, resource %q: project %q, want %q", tc.header, tc.resource, got, tc.want)
		}
	}
}

func protoBody(t testing.TB, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonBody(t testing.TB, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func newHandler(sub Submitter) http.Handler {
	mux := (&HTTPHandler{Ingest: sub, MaxBodyBytes: 64 << 10, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	return mux
}

func TestHTTPRequests(t *testing.T) {
	pb := protoBody(t, testTraces("p", false))
	js := jsonBody(t, testTraces("p", false))
	big := bytes.Repeat([]byte{0}, 70<<10)
	tests := []struct {
		name       string
		method     string
		ctype      string
		encoding   string
		body       []byte
		submitErr  error
		wantStatus int
		wantInBody string
		wantStored int
		retryAfter bool
		admitErr   error
	}{
		{"protobuf", "POST", "application/x-protobuf", "", pb, nil, 200, "", 1, false, nil},
		{"json", "POST", "application/json", "", js, nil, 200, "{", 1, false, nil},
		{"json with charset", "POST", "application/json; charset=utf-8", "", js, nil, 200, "", 1, false, nil},
		{"gzip", "POST", "application/x-protobuf", "gzip", gzipped(pb), nil, 200, "", 1, false, nil},
		{"deflate", "POST", "application/x-protobuf", "deflate", zlibbed(pb), nil, 200, "", 1, false, nil},
		{"empty request", "POST", "application/x-protobuf", "", nil, nil, 200, "", 0, false, nil},
		{"wrong method", "GET", "", "", nil, nil, 405, "", 0, false, nil},
		{"no content type", "POST", "", "", pb, nil, 415, "missing Content-Type", 0, false, nil},
		{"text content type", "POST", "text/plain", "", pb, nil, 415, "unsupported content type: text/plain", 0, false, nil},
		{"unknown encoding", "POST", "application/x-protobuf", "br", pb, nil, 415, "unsupported Content-Encoding: br", 0, false, nil},
		{"bad gzip", "POST", "application/x-protobuf", "gzip", []byte("not gzip"), nil, 400, "could not decompress", 0, false, nil},
		{"bad protobuf", "POST", "application/x-protobuf", "", []byte("\xff\xff\xff"), nil, 400, "not a valid OTLP ExportTraceServiceRequest", 0, false, nil},
		{"bad json", "POST", "application/json", "", []byte(`{"resourceSpans": [`), nil, 400, "not a valid OTLP ExportTraceServiceRequest", 0, false, nil},
		{"json sent as protobuf", "POST", "application/x-protobuf", "", js, nil, 400, "not a valid OTLP", 0, false, nil},
		{"too large", "POST", "application/x-protobuf", "", big, nil, 413, "larger than 65536 bytes", 0, false, nil},
		{"too large once inflated", "POST", "application/x-protobuf", "gzip", gzipped(big), nil, 413, "after decompression", 0, false, nil},
		{"queue full", "POST", "application/x-protobuf", "", pb, ingest.ErrOverloaded, 503, "at capacity", 0, true, nil},
		{"shutting down", "POST", "application/x-protobuf", "", pb, ingest.ErrStopped, 503, "shutting down", 0, true, nil},
		// A store failure may pass: retryable, and its detail stays in the log.
		{"store failure", "POST", "application/x-protobuf", "", pb, errors.New("dial tcp 10.0.0.7:5432: loupe@spans refused"), 503, "could not store the spans now; retry later", 0, true, nil},
		// Refused before the body is read: even a malformed one.
		{"queue full before decoding", "POST", "application/x-protobuf", "", []byte("\xff\xff\xff"), nil, 503, "at capacity", 0, true, ingest.ErrOverloaded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{err: tc.submitErr, admitErr: tc.admitErr}
			req := httptest.NewRequest(tc.method, "/v1/traces", bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			w := httptest.NewRecorder()
			newHandler(rec).ServeHTTP(w, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", w.Code, w.Body, tc.wantStatus)
			}
			if !strings.Contains(w.Body.String(), tc.wantInBody) {
				t.Errorf("body = %q, want it to contain %q", w.Body, tc.wantInBody)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Errorf("body = %q tells the client the internal error", w.Body)
			}
			if len(rec.spans) != tc.wantStored {
				t.Errorf("submitted %d spans, want %d", len(rec.spans), tc.wantStored)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After present = %v, want %v", got, tc.retryAfter)
			}
		})
	}
}

func TestHTTPPartialSuccessAndHeaderProject(t *testing.T) {
	for _, enc := range []struct {
		ctype string
		body  []byte
	}{{"application/x-protobuf", protoBody(t, testTraces("res", true))}, {"application/json", jsonBody(t, testTraces("res", true))}} {
		rec := &recorder{}
		req := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(enc.body))
		req.Header.Set("Content-Type", enc.ctype)
		req.Header.Set("x-project-name", "hdr")
		w := httptest.NewRecorder()
		newHandler(rec).ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("Content-Type") != enc.ctype {
			t.Fatalf("%s: status %d, content type %q", enc.ctype, w.Code, w.Header().Get("Content-Type"))
		}
		resp := ptraceotlp.NewExportResponse()
		var err error
		if enc.ctype == "application/json" {
			err = resp.UnmarshalJSON(w.Body.Bytes())
		} else {
			err = resp.UnmarshalProto(w.Body.Bytes())
		}
		if err != nil {
			t.Fatalf("%s: response does not decode: %v", enc.ctype, err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedSpans() != 1 || !strings.Contains(ps.ErrorMessage(), "empty span_id") {
			t.Errorf("%s: partial success = %d %q", enc.ctype, ps.RejectedSpans(), ps.ErrorMessage())
		}
		if len(rec.spans) != 1 || rec.spans[0].Project != "hdr" {
			t.Errorf("%s: spans = %+v, want one in project hdr", enc.ctype, rec.spans)
		}
	}
}

// FuzzHTTPProtobuf and FuzzHTTPJSON feed arbitrary bodies to the receiver:
// it must answer 200 or 400, never panic, and only submit decoded spans.
func FuzzHTTPProtobuf(f *testing.F) {
	f.Add(protoBody(f, testTraces("p", true)))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	// Values nested as deep as a request may, and a level deeper.
	f.Add(deepProtoRequest(MaxDecodeDepth, true))
	f.Add(deepProtoRequest(MaxDecodeDepth, false))
	f.Add(deepProtoRequest(MaxDecodeDepth+1, true))
	f.Add(deepProtoRequest(MaxDecodeDepth+1, false))
	fuzzHTTP(f, "application/x-protobuf")
}

func FuzzHTTPJSON(f *testing.F) {
	f.Add(jsonBody(f, testTraces("p", true)))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"01"}]}]}]}`))
	f.Add([]byte(`{}`))
	// Values nested as deep as a request may, and past the brackets that
	// allows.
	f.Add(deepJSONRequest(MaxDecodeDepth, true))
	f.Add(deepJSONRequest(MaxDecodeDepth, false))
	f.Add(deepJSONRequest(MaxDecodeDepth+2, true))
	f.Add(deepJSONRequest((maxJSONDepth-10)/3+2, false))
	fuzzHTTP(f, "application/json")
}

func fuzzHTTP(f *testing.F, ctype string) {
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := &recorder{}
		req := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		newHandler(rec).ServeHTTP(w, req)
		switch w.Code {
		case 200:
		case 400, 413:
			if len(rec.spans) != 0 {
				t.Fatalf("rejected request submitted %d spans", len(rec.spans))
			}
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		for _, s := range rec.spans {
			if len(s.TraceID) != 32 || len(s.SpanID) != 16 {
				t.Fatalf("bad ids %q %q", s.TraceID, s.SpanID)
			}
		}
	})
}

// TestMisroutedExports checks what an exporter pointed at the wrong path
// is told: where OTLP goes, in the answer it logs.
func TestMisroutedExports(t *testing.T) {
	pb := protoBody(t, testTraces("p", false))
	js := jsonBody(t, testTraces("p", false))
	tests := []struct {
		name, path, ctype string
		body              []byte
		says              string
	}{
		{"protobuf to the base URL", "/", "application/x-protobuf", pb, "Loupe receives OTLP traces at POST /v1/traces, not /"},
		{"JSON to the base URL", "/", "application/json", js, "at POST /v1/traces, not /"},
		{"metrics", "/v1/metrics", "application/x-protobuf", nil, "traces only"},
		{"an API typo", "/v1/projectz", "application/json", []byte(`{"name":"x"}`), "nothing here takes POST /v1/projectz"},
		{"a form", "/", "application/x-www-form-urlencoded", []byte("a=b"), "nothing here takes POST /"},
	}
	var logged bytes.Buffer
	mux := (&HTTPHandler{Ingest: &recorder{}, MaxBodyBytes: 64 << 10, Log: slog.New(slog.NewTextHandler(&logged, nil))}).Handler()
	for _, tc := range tests {
		for range 2 {
			req := httptest.NewRequest("POST", tc.path, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), tc.says) {
				t.Errorf("%s: %d %q, want 404 saying %q", tc.name, w.Code, w.Body, tc.says)
			}
		}
	}
	if n := strings.Count(logged.String(), "wrong path"); n != 2 {
		t.Errorf("logged %d warnings, want one per wrong path OTLP went to (2):\n%s", n, logged.String())
	}
}
