package otlp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/internal/ingest"
)

// rawCodec lets the test client send bytes that are not a valid message.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func startGRPC(t *testing.T, sub Submitter) *grpc.ClientConn {
	t.Helper()
	return startGRPCService(t, &GRPCService{Ingest: sub, MaxRecvBytes: 1 << 20, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func startGRPCService(t *testing.T, svc *GRPCService) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer(svc.ServerOptions()...)
	svc.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestGRPCExport(t *testing.T) {
	rec := &recorder{}
	client := ptraceotlp.NewGRPCClient(startGRPC(t, rec))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-project-name", "from-metadata")
	resp, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces("res", true)))
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if resp.PartialSuccess().RejectedSpans() != 1 {
		t.Errorf("rejected = %d, want 1", resp.PartialSuccess().RejectedSpans())
	}
	if len(rec.spans) != 1 || rec.spans[0].Project != "from-metadata" {
		t.Errorf("spans = %+v", rec.spans)
	}
}

// TestGRPCErrors checks the codes the exporters act on: only what the
// client sent wrong is permanent; everything that may pass is retryable,
// and RESOURCE_EXHAUSTED is retried only with a RetryInfo detail.
func TestGRPCErrors(t *testing.T) {
	pb := protoBody(t, testTraces("p", false))
	internal := errors.New("dial tcp 10.0.0.7:5432: user loupe refused")
	tests := []struct {
		name      string
		body      []byte
		submitErr error
		admitErr  error
		want      codes.Code
		retryInfo bool
	}{
		{"malformed message", []byte("\xff\xff\xff"), nil, nil, codes.InvalidArgument, false},
		{"queue full", pb, ingest.ErrOverloaded, nil, codes.ResourceExhausted, true},
		{"shutting down", pb, ingest.ErrStopped, nil, codes.Unavailable, true},
		{"store failure", pb, internal, nil, codes.Unavailable, true},
		// Larger than the limit is permanent: no RetryInfo, so it is not resent.
		{"too large", make([]byte, 2<<20), nil, nil, codes.ResourceExhausted, false},
		// Refused before the message is read: even a malformed one.
		{"queue full before decoding", []byte("\xff\xff\xff"), nil, ingest.ErrOverloaded, codes.ResourceExhausted, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := startGRPC(t, &recorder{err: tc.submitErr, admitErr: tc.admitErr})
			var out []byte
			err := conn.Invoke(context.Background(), exportMethod, &tc.body, &out, grpc.ForceCodecV2(rawCodec{}))
			st := status.Convert(err)
			if st.Code() != tc.want {
				t.Errorf("code = %v (%v), want %v", st.Code(), err, tc.want)
			}
			if got := hasRetryInfo(st); got != tc.retryInfo {
				t.Errorf("RetryInfo present = %v, want %v (%v)", got, tc.retryInfo, st.Details())
			}
			if strings.Contains(st.Message(), "10.0.0.7") {
				t.Errorf("message %q tells the client the internal error", st.Message())
			}
		})
	}
}

func hasRetryInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return true
		}
	}
	return false
}
