package otlp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/span"
)

// wire builds protobuf bytes back to front: a message's fields are written
// after what they hold, so that each length is known when it is written.
// Nesting a million levels is then a million prepends into one buffer.
type wire struct {
	buf []byte
	pos int // buf[pos:] is what has been written
}

func newWire(capacity int) *wire { return &wire{buf: make([]byte, capacity), pos: capacity} }

func (w *wire) bytes() []byte { return w.buf[w.pos:] }
func (w *wire) size() int     { return len(w.buf) - w.pos }

func (w *wire) prepend(b ...byte) {
	w.pos -= len(b)
	copy(w.buf[w.pos:], b)
}

func (w *wire) varint(v uint64) {
	var tmp [binary.MaxVarintLen64]byte
	w.prepend(tmp[:binary.PutUvarint(tmp[:], v)]...)
}

// wrap makes everything written so far the contents of a length-delimited
// field: built from the inside out, each message holds all that came before.
func (w *wire) wrap(field int) {
	w.varint(uint64(w.size()))
	w.varint(uint64(field<<3 | 2))
}

// bytesField prepends a length-delimited field holding b.
func (w *wire) bytesField(field int, b []byte) {
	w.prepend(b...)
	w.varint(uint64(len(b)))
	w.varint(uint64(field<<3 | 2))
}

// fixed64 prepends a fixed64 field.
func (w *wire) fixed64(field int, v uint64) {
	w.prepend(binary.LittleEndian.AppendUint64(nil, v)...)
	w.varint(uint64(field<<3 | 1))
}

// deepProtoRequest is an ExportTraceServiceRequest with one span whose
// attribute "deep" is nested levels deep (a top-level scalar is one level):
// arrays of arrays, or maps of maps, around a string.
func deepProtoRequest(levels int, kvlist bool) []byte {
	w := newWire(levels*24 + 256)
	w.bytesField(1, []byte("bottom")) // AnyValue.string_value
	for range levels - 1 {
		// The AnyValue written so far becomes the only item of a list or
		// map, itself the value of an AnyValue one level up.
		if kvlist {
			w.wrap(2)                    // KeyValue.value
			w.bytesField(1, []byte("k")) // KeyValue.key
			w.wrap(1)                    // KeyValueList.values
			w.wrap(6)                    // AnyValue.kvlist_value
		} else {
			w.wrap(1) // ArrayValue.values
			w.wrap(5) // AnyValue.array_value
		}
	}
	w.wrap(2)                               // KeyValue.value
	w.bytesField(1, []byte("deep"))         // KeyValue.key
	w.wrap(9)                               // Span.attributes
	w.fixed64(8, 1_700_000_001_000_000_000) // Span.end_time_unix_nano
	w.fixed64(7, 1_700_000_000_000_000_000) // Span.start_time_unix_nano
	w.bytesField(5, []byte("deep span"))    // Span.name
	w.bytesField(2, sid[:])                 // Span.span_id
	w.bytesField(1, tid[:])                 // Span.trace_id
	w.wrap(2)                               // ScopeSpans.spans
	w.wrap(2)                               // ResourceSpans.scope_spans
	w.wrap(1)                               // ExportTraceServiceRequest.resource_spans
	return w.bytes()
}

// deepJSONRequest is deepProtoRequest in OTLP/JSON.
func deepJSONRequest(levels int, kvlist bool) []byte {
	open, close := `{"arrayValue":{"values":[`, `]}}`
	if kvlist {
		open, close = `{"kvlistValue":{"values":[{"key":"k","value":`, `}]}}`
	}
	var b bytes.Buffer
	b.Grow(levels * (len(open) + len(close)))
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"deep span","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000","attributes":[{"key":"deep","value":`)
	for range levels - 1 {
		b.WriteString(open)
	}
	b.WriteString(`{"stringValue":"bottom"}`)
	for range levels - 1 {
		b.WriteString(close)
	}
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

func bigHandler(sub Submitter) http.Handler {
	mux := (&HTTPHandler{Ingest: sub, MaxBodyBytes: 64 << 20, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	return mux
}

func startBigGRPC(t *testing.T, sub Submitter) *grpc.ClientConn {
	t.Helper()
	svc := &GRPCService{Ingest: sub, MaxRecvBytes: 64 << 20, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := grpc.NewServer(svc.ServerOptions()...)
	svc.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A value nested a million levels deep would overflow the decoder's stack,
// which kills the process: it is refused before anything recursive reads it.
func TestDeepValueRefused(t *testing.T) {
	const levels = 1_000_000
	for _, tc := range []struct {
		name   string
		kvlist bool
	}{{"array", false}, {"kvlist", true}} {
		pb := deepProtoRequest(levels, tc.kvlist)
		js := deepJSONRequest(levels, tc.kvlist)
		t.Run(tc.name+"/http protobuf", func(t *testing.T) {
			checkHTTPRefused(t, "application/x-protobuf", pb, `attribute "deep" of span 1 of scope 1 of resource 1 nests deeper than 256 levels`)
		})
		t.Run(tc.name+"/http json", func(t *testing.T) {
			checkHTTPRefused(t, "application/json", js, "JSON nests deeper than 1035 levels")
		})
		t.Run(tc.name+"/grpc", func(t *testing.T) {
			rec := &recorder{}
			conn := startBigGRPC(t, rec)
			var out []byte
			err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
				&pb, &out, grpc.ForceCodecV2(rawCodec{}))
			if got := status.Code(err); got != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", got, err)
			}
			if want := `attribute "deep" of span 1 of scope 1 of resource 1 nests deeper than 256 levels`; !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v, want it to say %q", err, want)
			}
			if len(rec.spans) != 0 {
				t.Errorf("stored %d spans", len(rec.spans))
			}
		})
	}
}

func checkHTTPRefused(t *testing.T, ctype string, body []byte, want string) {
	t.Helper()
	rec := &recorder{}
	req := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	w := httptest.NewRecorder()
	bigHandler(rec).ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status = %d (%.200s), want 400", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), want) {
		t.Errorf("body = %q, want it to say %q", w.Body, want)
	}
	if len(rec.spans) != 0 {
		t.Errorf("stored %d spans", len(rec.spans))
	}
}

// setNested makes v a value levels deep: lists of lists, or maps of maps,
// around the string "bottom".
func setNested(v pcommon.Value, levels int, kvlist bool) {
	for range levels - 1 {
		if kvlist {
			v = v.SetEmptyMap().PutEmpty("k")
		} else {
			v = v.SetEmptySlice().AppendEmpty()
		}
	}
	v.SetStr("bottom")
}

// deepestValue is how many levels the deepest value of td nests, found
// without recursion.
func deepestValue(td ptrace.Traces) int {
	type item struct {
		v     pcommon.Value
		level int
	}
	var stack []item
	addMap := func(m pcommon.Map, level int) {
		for _, v := range m.All() {
			stack = append(stack, item{v, level})
		}
	}
	for _, rs := range td.ResourceSpans().All() {
		addMap(rs.Resource().Attributes(), 1)
		for _, ss := range rs.ScopeSpans().All() {
			addMap(ss.Scope().Attributes(), 1)
			for _, sp := range ss.Spans().All() {
				addMap(sp.Attributes(), 1)
				for _, e := range sp.Events().All() {
					addMap(e.Attributes(), 1)
				}
				for _, l := range sp.Links().All() {
					addMap(l.Attributes(), 1)
				}
			}
		}
	}
	deepest := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		deepest = max(deepest, it.level)
		switch it.v.Type() {
		case pcommon.ValueTypeMap:
			addMap(it.v.Map(), it.level+1)
		case pcommon.ValueTypeSlice:
			for _, v := range it.v.Slice().All() {
				stack = append(stack, item{v, it.level + 1})
			}
		}
	}
	return deepest
}

// storedLevels follows a stored value down its first items and returns
// how many levels it has and what is at the bottom.
func storedLevels(v span.Value) (int, span.Value) {
	level := 1
	for {
		switch {
		case v.Type == span.TypeSlice && len(v.Slice) > 0:
			v = v.Slice[0]
		case v.Type == span.TypeMap && len(v.Map) > 0:
			v = v.Map[0].Value
		default:
			return level, v
		}
		level++
	}
}

// At the limit a request is decoded, its value stored down to
// span.MaxValueDepth levels and the rest as text; one level past it, it
// is refused.
func TestDepthLimit(t *testing.T) {
	const pb, js = "application/x-protobuf", "application/json"
	tests := []struct {
		name   string
		ctype  string
		body   []byte
		status int
	}{
		{"protobuf array at the limit", pb, deepProtoRequest(MaxDecodeDepth, false), 200},
		{"protobuf map at the limit", pb, deepProtoRequest(MaxDecodeDepth, true), 200},
		{"protobuf array past the limit", pb, deepProtoRequest(MaxDecodeDepth+1, false), 400},
		{"protobuf map past the limit", pb, deepProtoRequest(MaxDecodeDepth+1, true), 400},
		{"json array at the limit", js, deepJSONRequest(MaxDecodeDepth, false), 200},
		{"json map at the limit", js, deepJSONRequest(MaxDecodeDepth, true), 200},
		// JSON is bounded by brackets, four a level for maps and three for
		// lists: a body past the limit in levels may be within it in
		// brackets, and is decoded like any other.
		{"json map one level past", js, deepJSONRequest(MaxDecodeDepth+1, true), 200},
		{"json map two levels past", js, deepJSONRequest(MaxDecodeDepth+2, true), 400},
		{"json array deepest within the brackets", js, deepJSONRequest((maxJSONDepth-10)/3+1, false), 200},
		{"json array past the brackets", js, deepJSONRequest((maxJSONDepth-10)/3+2, false), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			req := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			w := httptest.NewRecorder()
			bigHandler(rec).ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status = %d (%.300s), want %d", w.Code, w.Body, tc.status)
			}
			if tc.status != 200 {
				if !strings.Contains(w.Body.String(), "deeper than") || len(rec.spans) != 0 {
					t.Errorf("body %q, %d spans stored", w.Body, len(rec.spans))
				}
				return
			}
			if len(rec.spans) != 1 {
				t.Fatalf("stored %d spans, want 1", len(rec.spans))
			}
			v, _ := rec.spans[0].Attributes.Get("deep")
			level, bottom := storedLevels(v)
			if level != span.MaxValueDepth || bottom.Type != span.TypeString || !strings.Contains(bottom.Str, `"bottom"`) {
				t.Errorf("stored value has %d levels down to %v %.80q; want %d, then the rest as JSON text",
					level, bottom.Type, bottom.Str, span.MaxValueDepth)
			}
		})
	}
	t.Run("grpc", func(t *testing.T) {
		conn := startBigGRPC(t, &recorder{})
		for levels, want := range map[int]codes.Code{MaxDecodeDepth: codes.OK, MaxDecodeDepth + 1: codes.InvalidArgument} {
			body := deepProtoRequest(levels, true)
			var out []byte
			err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
				&body, &out, grpc.ForceCodecV2(rawCodec{}))
			if got := status.Code(err); got != want {
				t.Errorf("%d levels: code = %v (%v), want %v", levels, got, err, want)
			}
		}
	})
}

// The refusal names the attribute and where it is.
func TestDepthErrorNamesTheAttribute(t *testing.T) {
	const deep = MaxDecodeDepth + 1
	tests := []struct {
		name  string
		build func(td ptrace.Traces)
		want  string
	}{
		{"resource", func(td ptrace.Traces) {
			td.ResourceSpans().AppendEmpty()
			setNested(td.ResourceSpans().AppendEmpty().Resource().Attributes().PutEmpty("r"), deep, true)
		}, `attribute "r" of resource 2 nests deeper than 256 levels`},
		{"scope", func(td ptrace.Traces) {
			setNested(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Scope().Attributes().PutEmpty("s"), deep, false)
		}, `attribute "s" of the instrumentation scope of scope 1 of resource 1 nests`},
		{"span", func(td ptrace.Traces) {
			sss := td.ResourceSpans().AppendEmpty().ScopeSpans()
			sss.AppendEmpty().Spans().AppendEmpty()
			spans := sss.AppendEmpty().Spans()
			spans.AppendEmpty().Attributes().PutStr("shallow", "x")
			a := spans.AppendEmpty().Attributes()
			a.PutStr("shallow", "x")
			// The key of the attribute, not of the maps inside it.
			setNested(a.PutEmptyMap("top").PutEmpty("k"), deep-1, true)
		}, `attribute "top" of span 2 of scope 2 of resource 1 nests`},
		{"event", func(td ptrace.Traces) {
			evs := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events()
			evs.AppendEmpty()
			setNested(evs.AppendEmpty().Attributes().PutEmpty("e"), deep, false)
		}, `attribute "e" of event 2 of span 1 of scope 1 of resource 1 nests`},
		{"link", func(td ptrace.Traces) {
			sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.Events().AppendEmpty()
			setNested(sp.Links().AppendEmpty().Attributes().PutEmpty("l"), deep, true)
		}, `attribute "l" of link 1 of span 1 of scope 1 of resource 1 nests`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			tc.build(td)
			err := checkProtoDepth(protoBody(t, td))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// varintBytes is v as a protobuf varint.
func varintBytes(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// The scan reads the framing as pdata does, so that it cannot be led
// around a value the decoder then recurses into, and refuses what pdata
// refuses.
func TestCheckProtoDepthFraming(t *testing.T) {
	// A tag whose field number wraps to 1 as int32, as pdata reads it.
	wrapped := varintBytes((1<<32|1)<<3 | 2)
	withTag := func(tag []byte, body []byte) []byte {
		// body starts with resource_spans' one-byte tag 0x0a.
		return append(append([]byte{}, tag...), body[1:]...)
	}
	tests := []struct {
		name string
		body []byte
		want string // "" for no error
	}{
		{"empty", nil, ""},
		{"length past the end", []byte{0x0a, 0x05, 0x0a}, "runs past its message"},
		{"length past the enclosing message", []byte{0x0a, 0x02, 0x0a, 0x05, 0, 0, 0, 0, 0}, "runs past its message"},
		{"varint of eleven bytes", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), "longer than ten bytes"},
		{"truncated varint", []byte{0x08, 0xff}, "varint runs past"},
		{"field number 0", []byte{0x02, 0x00}, "field number 0"},
		{"wire type 7", []byte{0x0f}, "wire type 7"},
		{"end group outside a group", []byte{0x0c}, "wire type 4"},
		{"truncated fixed64", []byte{0x09, 0x01}, "runs past its message"},
		{"truncated fixed32", []byte{0x0d, 0x01}, "runs past its message"},
		// pdata skips a group's start and end tags up to its first other
		// field, and reads on from there as fields of the message.
		{"unknown groups, nested", []byte{0x2b, 0x33, 0x34, 0x2c, 0x10, 0x01}, ""},
		{"group ending its message", []byte{0x2b, 0x33, 0x34, 0x2c}, "runs past"},
		{"group ended by its first field", []byte{0x2b, 0x08, 0x01}, ""},
		{"group's end read as a field", []byte{0x2b, 0x08, 0x01, 0x2c}, "wire type 4"},
		{"unterminated group", []byte{0x2b, 0x33}, "runs past"},
		{"deep value after a group's first field", append([]byte{0x2b, 0x08, 0x01}, deepProtoRequest(MaxDecodeDepth+1, true)...), "nests deeper than"},
		{"deep value behind a wrapped field number", withTag(wrapped, deepProtoRequest(MaxDecodeDepth+1, false)), "nests deeper than"},
		{"shallow value behind a wrapped field number", withTag(wrapped, deepProtoRequest(2, false)), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkProtoDepth(tc.body)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if err != nil && errors.Is(err, errMalformed) {
				// pdata refuses it too: the scan refuses nothing good.
				if perr := ptraceotlp.NewExportRequest().UnmarshalProto(tc.body); perr == nil {
					t.Errorf("pdata decodes what the scan calls malformed")
				}
			}
		})
	}
	// pdata does read the wrapped tag as resource_spans.
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(withTag(wrapped, deepProtoRequest(2, false))); err != nil || req.Traces().SpanCount() != 1 {
		t.Errorf("pdata: %v, %d spans; want the span behind the wrapped tag", err, req.Traces().SpanCount())
	}
}

func TestCheckJSONDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		body string
		want string // "" for no error
	}{
		{"empty", "", ""},
		{"object", `{"resourceSpans":[]}`, ""},
		{"brackets in strings", `{"a":"[[[{{{","b":"\"[[[","c":"\\","d":"]]]}}}"}`, ""},
		{"at the limit", nest(maxJSONDepth), ""},
		{"past the limit", nest(maxJSONDepth + 1), "JSON nests deeper than 1035 levels at byte 1035"},
		{"brackets in a string past the limit", `"` + nest(maxJSONDepth+1) + `"`, ""},
		{"escaped quote does not end the string", `"\"` + nest(maxJSONDepth+1) + `"`, ""},
		{"escaped backslash ends the string", `["\\"` + nest(maxJSONDepth+1) + `]`, "deeper than"},
		{"unmatched closer", `{}]`, "unmatched ']'"},
		{"mismatched closer", `{"x":{]]]]}}`, "mismatched ']'"},
		// pdata skips unknown fields by counting braces only; closers it
		// passes over must not let the count fall behind its nesting.
		{"closers to hide depth", `{"x":{` + strings.Repeat("]", 2000) + `}}` + nest(maxJSONDepth+1), "mismatched"},
		{"unterminated string", `{"a":"[[[[`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSONDepth([]byte(tc.body))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzCheckProtoDepth holds the scan to what it promises: it never panics
// or runs away; what it lets through, pdata decodes without recursing
// deeper than MaxDecodeDepth (deeper would crash this test, past a million
// levels, or show in the decoded values); what it calls malformed, pdata
// refuses too.
func FuzzCheckProtoDepth(f *testing.F) {
	f.Add(protoBody(f, testTraces("p", true)))
	f.Add(deepProtoRequest(8, true))
	f.Add(deepProtoRequest(MaxDecodeDepth, false))
	f.Add(deepProtoRequest(MaxDecodeDepth+1, true))
	f.Add(append([]byte{0x2b, 0x08, 0x01}, deepProtoRequest(8, false)...))
	f.Add([]byte{0x2b, 0x33, 0x34, 0x2c, 0x10, 0x01})
	f.Add(append(varintBytes((1<<32|1)<<3|2), deepProtoRequest(8, true)[1:]...))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkProtoDepth(b)
		req := ptraceotlp.NewExportRequest()
		if err != nil {
			// Small enough for pdata to decode at any depth.
			if errors.Is(err, errMalformed) && len(b) <= 64<<10 && req.UnmarshalProto(b) == nil {
				t.Fatalf("the scan refuses what pdata decodes: %v", err)
			}
			return
		}
		if req.UnmarshalProto(b) != nil {
			return
		}
		if d := deepestValue(req.Traces()); d > MaxDecodeDepth {
			t.Fatalf("the scan let through a value %d levels deep", d)
		}
	})
}

// FuzzCheckJSONDepth is FuzzCheckProtoDepth for OTLP/JSON, where the scan
// bounds brackets: a value takes at least three a level.
func FuzzCheckJSONDepth(f *testing.F) {
	f.Add(jsonBody(f, testTraces("p", true)))
	f.Add(deepJSONRequest(8, true))
	f.Add(deepJSONRequest(MaxDecodeDepth, false))
	f.Add(deepJSONRequest(MaxDecodeDepth+2, true))
	f.Add([]byte(`{"resourceSpans":[{"x":{]]]]},"scopeSpans":[]}]}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a\"[","value":{"arrayValue":{"values":[{"stringValue":"]\\"}]}}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkJSONDepth(b) != nil {
			return
		}
		req := ptraceotlp.NewExportRequest()
		if req.UnmarshalJSON(b) != nil {
			return
		}
		if d := deepestValue(req.Traces()); d > maxJSONDepth/3 {
			t.Fatalf("the scan let through a value %d levels deep", d)
		}
	})
}

// BenchmarkDepthCheck measures the scans alone, on BenchmarkDecode's
// request of 200 agent-shaped spans.
func BenchmarkDepthCheck(b *testing.B) {
	spans := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0)).Spans(200)
	td := agentgen.Traces(agentgen.Resource{ServiceName: "bench", Project: "bench"}, spans)
	for _, enc := range []struct {
		name  string
		body  []byte
		check func([]byte) error
	}{
		{"protobuf", protoBody(b, td), checkProtoDepth},
		{"json", jsonBody(b, td), checkJSONDepth},
	} {
		b.Run(enc.name, func(b *testing.B) {
			b.SetBytes(int64(len(enc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := enc.check(enc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// randomValue makes v exactly levels deep along one path of lists and
// maps chosen at random, with scalars and shallow lists and maps beside it
// on the way down, so that the scan meets both its plain and its general
// reading.
func randomValue(r *rand.Rand, v pcommon.Value, levels int) {
	for level := 1; level < levels; level++ {
		// Siblings first: adding to a list or map moves the values in it.
		if r.IntN(2) == 0 {
			sl := v.SetEmptySlice()
			if r.IntN(3) == 0 {
				sl.AppendEmpty().SetDouble(1.5)
			}
			if r.IntN(4) == 0 {
				sl.AppendEmpty().SetEmptySlice().AppendEmpty().SetInt(7)
			}
			v = sl.AppendEmpty()
		} else {
			m := v.SetEmptyMap()
			if r.IntN(3) == 0 {
				m.PutStr("s", strings.Repeat("x", r.IntN(300)))
			}
			if r.IntN(4) == 0 {
				m.PutEmptyBytes("b").FromRaw([]byte{1, 2})
			}
			v = m.PutEmpty("k")
		}
	}
	v.SetBool(true)
}

// The scan refuses a request exactly when one of its values, as pdata
// decodes it, nests deeper than MaxDecodeDepth, wherever the value is; the
// JSON scan never refuses one within it.
func TestCheckProtoDepthAgreesWithDecoded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for i := range 300 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		ss := rs.ScopeSpans().AppendEmpty()
		sp := ss.Spans().AppendEmpty()
		sp.Attributes().PutStr("plain", "text")
		places := []pcommon.Map{rs.Resource().Attributes(), ss.Scope().Attributes(), sp.Attributes(),
			sp.Events().AppendEmpty().Attributes(), sp.Links().AppendEmpty().Attributes()}
		for range 1 + r.IntN(3) {
			levels := MaxDecodeDepth - 4 + r.IntN(8)
			if r.IntN(2) == 0 {
				levels = 1 + r.IntN(MaxDecodeDepth)
			}
			randomValue(r, places[r.IntN(len(places))].PutEmpty("v"+strconv.Itoa(r.IntN(1000))), levels)
		}
		body := protoBody(t, td)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Fatal(err)
		}
		deepest := deepestValue(req.Traces())
		if deepest > MaxDecodeDepth {
			refused++
		}
		if err := checkProtoDepth(body); (err != nil) != (deepest > MaxDecodeDepth) {
			t.Fatalf("request %d, values %d levels deep: scan says %v", i, deepest, err)
		}
		// In JSON, brackets bound it: never below the limit.
		if err := checkJSONDepth(jsonBody(t, td)); err != nil && deepest <= MaxDecodeDepth {
			t.Fatalf("request %d, values %d levels deep: JSON scan says %v", i, deepest, err)
		}
	}
	if refused < 50 || refused > 250 {
		t.Errorf("%d of 300 requests too deep; the test should try both kinds", refused)
	}
}

// jsonStringEnd, which reads eight bytes at a time, ends a string where a
// byte-by-byte reading does.
func TestJSONStringEnd(t *testing.T) {
	simple := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				return i + 1
			case '\\':
				i++
			}
		}
		return len(b)
	}
	r := rand.New(rand.NewPCG(3, 4))
	// Mostly plain bytes, so that runs long enough for each way of reading occur.
	alphabet := []byte(`aaaaaaaaab"\\{[`)
	for range 20000 {
		b := make([]byte, r.IntN(80))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		start := 0
		if len(b) > 0 {
			start = r.IntN(len(b))
		}
		if got, want := jsonStringEnd(b, start), simple(b, start); got != want {
			t.Fatalf("jsonStringEnd(%q, %d) = %d, want %d", b, start, got, want)
		}
	}
}
