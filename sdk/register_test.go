package loupe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

func TestResolveTarget(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		opts []Option
		want exportTarget
	}{
		{
			name: "defaults",
			want: exportTarget{endpoint: "http://localhost:6006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "base URL from the environment",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://loupe:6006"},
			want: exportTarget{endpoint: "http://loupe:6006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "trailing slash",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "https://loupe.example.com/"},
			want: exportTarget{endpoint: "https://loupe.example.com/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "full traces URL kept",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://loupe:6006/v1/traces"},
			want: exportTarget{endpoint: "http://loupe:6006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "base URL with a path",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "https://app.phoenix.arize.com/s/team"},
			want: exportTarget{endpoint: "https://app.phoenix.arize.com/s/team/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "gRPC on request uses port 4317 of the collector host",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://loupe:6006"},
			opts: []Option{WithProtocol(ProtocolGRPC)},
			want: exportTarget{endpoint: "http://loupe:4317", protocol: ProtocolGRPC, headers: map[string]string{}},
		},
		{
			name: "gRPC port from PHOENIX_GRPC_PORT",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://[::1]:6006", "PHOENIX_GRPC_PORT": "5317"},
			opts: []Option{WithProtocol(ProtocolGRPC)},
			want: exportTarget{endpoint: "http://[::1]:5317", protocol: ProtocolGRPC, headers: map[string]string{}},
		},
		{
			name: "gRPC inferred from port 4317 and no path",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://loupe:4317"},
			want: exportTarget{endpoint: "http://loupe:4317", protocol: ProtocolGRPC, headers: map[string]string{}},
		},
		{
			name: "gRPC endpoint in code keeps its port",
			opts: []Option{WithEndpoint("http://collector:14317"), WithProtocol(ProtocolGRPC)},
			want: exportTarget{endpoint: "http://collector:14317", protocol: ProtocolGRPC, headers: map[string]string{}},
		},
		{
			name: "gRPC endpoint in code without a port",
			opts: []Option{WithEndpoint("https://collector"), WithProtocol(ProtocolGRPC)},
			want: exportTarget{endpoint: "https://collector:4317", protocol: ProtocolGRPC, headers: map[string]string{}},
		},
		{
			name: "option overrides the environment",
			env:  map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://env:6006"},
			opts: []Option{WithEndpoint("http://code:7006")},
			want: exportTarget{endpoint: "http://code:7006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{}},
		},
		{
			name: "API key and headers from the environment",
			env: map[string]string{
				"PHOENIX_API_KEY":        "sk-env",
				"PHOENIX_CLIENT_HEADERS": "X-Team=ai,x-note=a%20b",
			},
			want: exportTarget{endpoint: "http://localhost:6006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{
				"authorization": "Bearer sk-env", "x-team": "ai", "x-note": "a b",
			}},
		},
		{
			name: "options replace the environment's key and headers",
			env: map[string]string{
				"PHOENIX_API_KEY":        "sk-env",
				"PHOENIX_CLIENT_HEADERS": "x-team=env",
			},
			opts: []Option{WithAPIKey("sk-code"), WithHeaders(map[string]string{"X-Other": "code"})},
			want: exportTarget{endpoint: "http://localhost:6006/v1/traces", protocol: ProtocolHTTP, headers: map[string]string{
				"authorization": "Bearer sk-code", "x-other": "code",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveTarget(newConfig(tt.opts), func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(exportTarget{})); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveTargetErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    []Option
		wantErr string
	}{
		{"endpoint without scheme", map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "localhost:6006"}, nil, "not an http:// or https:// URL"},
		{"unknown protocol", nil, []Option{WithProtocol("udp")}, `unknown OTLP protocol "udp"`},
		{"bad gRPC port", map[string]string{"PHOENIX_GRPC_PORT": "many"}, nil, "PHOENIX_GRPC_PORT"},
		{"malformed headers", map[string]string{"PHOENIX_CLIENT_HEADERS": "a=b,oops"}, nil, `PHOENIX_CLIENT_HEADERS: entry "oops" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveTarget(newConfig(tt.opts), func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func newConfig(opts []Option) config {
	cfg := config{batch: true, global: true}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "a=b", want: map[string]string{"a": "b"}},
		{in: " A = b , c=d ,", want: map[string]string{"a": "b", "c": "d"}},
		{in: "k=v=w", want: map[string]string{"k": "v=w"}},
		{in: "api%2Dkey=a%2Cb", want: map[string]string{"api-key": "a,b"}},
		{in: "=v", wantErr: true},
		{in: "novalue", wantErr: true},
		{in: "k=%zz", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseHeaders(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseHeaders(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseHeaders(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestResolveProject(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		opts []Option
		want string
	}{
		{"default", nil, nil, "default"},
		{"PHOENIX_PROJECT_NAME", map[string]string{"PHOENIX_PROJECT_NAME": "a"}, nil, "a"},
		{"PHOENIX_PROJECT wins", map[string]string{"PHOENIX_PROJECT_NAME": "a", "PHOENIX_PROJECT": "b"}, nil, "b"},
		{"option wins", map[string]string{"PHOENIX_PROJECT": "b"}, []Option{WithProjectName("c")}, "c"},
	}
	for _, tt := range tests {
		if got := resolveProject(newConfig(tt.opts), func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("%s: project = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSpanLimits(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want int
	}{
		{nil, 10000},
		{map[string]string{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "50"}, sdktrace.NewSpanLimits().AttributeCountLimit},
		{map[string]string{"OTEL_ATTRIBUTE_COUNT_LIMIT": "60"}, sdktrace.NewSpanLimits().AttributeCountLimit},
	}
	for _, tt := range tests {
		if got := spanLimits(func(k string) string { return tt.env[k] }).AttributeCountLimit; got != tt.want {
			t.Errorf("env %v: attribute count limit = %d, want %d", tt.env, got, tt.want)
		}
	}
	if got := spanLimits(func(string) string { return "" }).AttributeValueLengthLimit; got != -1 {
		t.Errorf("attribute value length limit = %d, want unlimited", got)
	}
}

// exportRequest is what a fake collector received.
type exportRequest struct {
	header  map[string][]string
	request *coltracepb.ExportTraceServiceRequest
}

func TestRegisterExportsOverHTTP(t *testing.T) {
	got := make(chan exportRequest, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- exportRequest{header: r.Header, request: &req}
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	defer srv.Close()

	tp, shutdown, err := Register(context.Background(),
		WithEndpoint(srv.URL), WithProjectName("checkout"), WithAPIKey("sk-test"),
		WithHeaders(map[string]string{"X-Team": "ai"}), WithBatch(false), WithGlobal(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithSession(context.Background(), "s-42")
	_, span := NewTracer(tp).StartChain(ctx, "long conversation", "hi")
	for i := range 300 {
		span.SetAttributes(attribute.Int(fmt.Sprintf("llm.input_messages.%d.message.n", i), i))
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	req := <-got
	for k, want := range map[string]string{"Authorization": "Bearer sk-test", "X-Team": "ai", "Content-Type": "application/x-protobuf"} {
		if v := http.Header(req.header).Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	rs := req.request.GetResourceSpans()
	if len(rs) != 1 {
		t.Fatalf("got %d resource spans", len(rs))
	}
	if v := attrValue(rs[0].GetResource().GetAttributes(), "openinference.project.name"); v != "checkout" {
		t.Errorf("project = %q, want checkout", v)
	}
	spans := rs[0].GetScopeSpans()[0].GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	if v := attrValue(spans[0].GetAttributes(), "session.id"); v != "s-42" {
		t.Errorf("session.id = %q: the context processor is not installed", v)
	}
	// kind, input value and mime type, session and the 300 messages: none cut.
	if n, dropped := len(spans[0].GetAttributes()), spans[0].GetDroppedAttributesCount(); n != 304 || dropped != 0 {
		t.Errorf("got %d attributes, %d dropped; want 304, 0", n, dropped)
	}
}

func attrValue(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

type fakeTraceService struct {
	coltracepb.UnimplementedTraceServiceServer
	got chan exportRequest
}

func (s *fakeTraceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.got <- exportRequest{header: md, request: req}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func TestRegisterExportsOverGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &fakeTraceService{got: make(chan exportRequest, 10)}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, svc)
	go gs.Serve(ln)
	defer gs.Stop()

	tp, shutdown, err := Register(context.Background(),
		WithEndpoint("http://"+ln.Addr().String()), WithProtocol(ProtocolGRPC),
		WithAPIKey("sk-grpc"), WithGlobal(false))
	if err != nil {
		t.Fatal(err)
	}
	_, span := NewTracer(tp).StartAgent(context.Background(), "agent.run", "q")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := <-svc.got
	if v := req.header["authorization"]; len(v) != 1 || v[0] != "Bearer sk-grpc" {
		t.Errorf("authorization = %q", v)
	}
	rs := req.request.GetResourceSpans()
	if len(rs) != 1 || attrValue(rs[0].GetResource().GetAttributes(), "openinference.project.name") != "default" {
		t.Fatalf("resource spans = %v", rs)
	}
	if name := rs[0].GetScopeSpans()[0].GetSpans()[0].GetName(); name != "agent.run" {
		t.Errorf("span name = %q", name)
	}
}

func TestRegisterSetsGlobalsByDefault(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})

	// Built before Register, as a package-level client would be: the global
	// provider still reaches the one registered later.
	early := Default()

	exp := tracetest.NewInMemoryExporter()
	tp, shutdown, err := Register(context.Background(), WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != tp {
		t.Error("the global tracer provider is not the registered one")
	}
	fields := otel.GetTextMapPropagator().Fields()
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"baggage", "traceparent", "tracestate"}, fields); diff != "" {
		t.Errorf("propagator fields (-want +got):\n%s", diff)
	}
	defer shutdown(context.Background())

	_, span := otel.Tracer("any").Start(WithUser(context.Background(), "u"), "x")
	span.End()
	_, chain := early.StartChain(context.Background(), "y", nil)
	chain.End()
	// Shutting the in-memory exporter down would empty it: flush instead.
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 || attrs(spans[0].Attributes)["user.id"] != "u" || spans[1].Name != "y" {
		t.Errorf("exported %+v", spans)
	}
}

func TestShutdownReportsLostSpans(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tp, shutdown, err := Register(context.Background(), WithEndpoint(down.URL), WithGlobal(false))
	if err != nil {
		t.Fatal(err)
	}
	_, span := NewTracer(tp).StartChain(context.Background(), "lost", nil)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err == nil {
		t.Error("shutdown reported no error with the collector down")
	}
}

func TestRegisterVerbose(t *testing.T) {
	t.Setenv("PHOENIX_COLLECTOR_ENDPOINT", "http://loupe:6006")
	t.Setenv("PHOENIX_API_KEY", "sk-secret")
	var out bytes.Buffer
	_, shutdown, err := Register(context.Background(), WithVerbose(&out), WithGlobal(false), WithBatch(false))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	got := out.String()
	for _, want := range []string{"http://loupe:6006/v1/traces (OTLP http/protobuf)", "authorization: ****", "project:   default", "simple"} {
		if !strings.Contains(got, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "sk-secret") {
		t.Errorf("verbose output shows the API key:\n%s", got)
	}
}

func TestRegisterRejectsBadConfiguration(t *testing.T) {
	if _, _, err := Register(context.Background(), WithEndpoint("ftp://x"), WithGlobal(false)); err == nil {
		t.Error("Register accepted an ftp:// endpoint")
	}
}
