package otlp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
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
	srv := grpc.NewServer(ServerOptions(1 << 20)...)
	(&GRPCService{Ingest: sub, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(srv)
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

func TestGRPCErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		submitErr error
		want      codes.Code
		admitErr  error
	}{
		{"malformed message", []byte("\xff\xff\xff"), nil, codes.InvalidArgument, nil},
		{"queue full", protoBody(t, testTraces("p", false)), ingest.ErrOverloaded, codes.ResourceExhausted, nil},
		{"shutting down", protoBody(t, testTraces("p", false)), ingest.ErrStopped, codes.Unavailable, nil},
		{"store failure", protoBody(t, testTraces("p", false)), errors.New("disk full"), codes.Internal, nil},
		{"too large", make([]byte, 2<<20), nil, codes.ResourceExhausted, nil},
		// Refused before decoding: even a malformed message.
		{"queue full before decoding", []byte("\xff\xff\xff"), nil, codes.ResourceExhausted, ingest.ErrOverloaded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := startGRPC(t, &recorder{err: tc.submitErr, admitErr: tc.admitErr})
			var out []byte
			err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
				&tc.body, &out, grpc.ForceCodecV2(rawCodec{}))
			if got := status.Code(err); got != tc.want {
				t.Errorf("code = %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
