package otlp

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed exports
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/internal/ingest"
)

// GRPCService serves opentelemetry.proto.collector.trace.v1.TraceService.
//
// It decodes requests itself rather than through gRPC's codec, so that a
// malformed message gets INVALID_ARGUMENT with the decoder's reason (gRPC
// would answer INTERNAL) and the wire size is known for queue accounting.
type GRPCService struct {
	Ingest Submitter
	Slots  DecodeSlots
	Log    *slog.Logger
}

// wireMessage is a message kept as its protobuf bytes.
type wireMessage struct{ b []byte }

// ServerOptions returns the options the gRPC server needs for this service.
func ServerOptions(maxRecvBytes int) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvBytes),
		grpc.ForceServerCodecV2(wireCodec{fallback: encoding.GetCodecV2("proto")}),
	}
}

// Register adds the trace service to srv.
func (g *GRPCService) Register(srv *grpc.Server) {
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(wireMessage)
				if err := dec(in); err != nil {
					return nil, err
				}
				if interceptor == nil {
					return g.export(ctx, in)
				}
				info := &grpc.UnaryServerInfo{FullMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}
				return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
					return g.export(ctx, req.(*wireMessage))
				})
			},
		}},
		Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, struct{}{})
}

func (g *GRPCService) export(ctx context.Context, in *wireMessage) (*wireMessage, error) {
	if err := g.Ingest.Admit(); err != nil {
		return nil, submitStatus(err)
	}
	project := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ProjectHeader); len(v) > 0 {
			project = v[0]
		}
	}
	decoded, err := g.Slots.decode(ctx, func(req ptraceotlp.ExportRequest) error { return UnmarshalProto(req, in.b) }, project)
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.InvalidArgument, "message is not a valid OTLP ExportTraceServiceRequest: %v", err)
	}
	if err := g.Ingest.Submit(ctx, decoded.Spans); err != nil {
		return nil, submitStatus(err)
	}
	resp := ptraceotlp.NewExportResponse()
	if decoded.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(decoded.Rejected)
		resp.PartialSuccess().SetErrorMessage(decoded.Message)
	}
	b, err := resp.MarshalProto()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode response: %v", err)
	}
	return &wireMessage{b: b}, nil
}

// wireCodec passes wireMessages through as bytes and leaves every other
// message (health checks, reflection) to the standard protobuf codec.
type wireCodec struct{ fallback encoding.CodecV2 }

func (c wireCodec) Name() string { return "proto" }

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*wireMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return c.fallback.Marshal(v)
}

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*wireMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	return c.fallback.Unmarshal(data, v)
}

// submitStatus maps queue errors to the codes OTLP exporters retry on.
func submitStatus(err error) error {
	switch {
	case errors.Is(err, ingest.ErrOverloaded):
		return status.Error(codes.ResourceExhausted, "server is at capacity; retry later")
	case errors.Is(err, ingest.ErrStopped):
		return status.Error(codes.Unavailable, "server is shutting down; retry later")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Internal, "could not store the spans: %v", err)
}
