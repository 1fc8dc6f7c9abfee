package otlp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// GRPCService serves opentelemetry.proto.collector.trace.v1.TraceService.
//
// It decodes requests itself rather than through gRPC's codec, so that a
// malformed message gets INVALID_ARGUMENT with the decoder's reason (gRPC
// would answer INTERNAL), and inflates gzip messages itself, within the
// Budget (grpcgzip.go).
type GRPCService struct {
	Ingest       Submitter
	Slots        DecodeSlots
	Budget       *Budget // bodies held at once; nil for no bound
	MaxRecvBytes int     // largest message, after decompression
	Log          *slog.Logger
}

// exportMethod is the one method the service has.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// wireMessage is a message kept as its protobuf bytes.
type wireMessage struct{ b []byte }

// ServerOptions returns the options the gRPC server needs for this service.
func (g *GRPCService) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(g.MaxRecvBytes),
		grpc.ForceServerCodecV2(wireCodec{fallback: encoding.GetCodecV2("proto")}),
		grpc.InTapHandle(g.admit),
	}
}

// admit runs when an export's headers arrive, before gRPC reads its
// message: a refusal then costs the server nothing. Exports that wait for
// room in the queue hold their messages in the budget, so a spent budget
// is what refuses them under overload.
func (g *GRPCService) admit(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != exportMethod {
		return ctx, nil
	}
	if err := g.Ingest.Admit(); err != nil {
		return ctx, submitFailure(err).grpc.Err()
	}
	if g.Budget.exhausted() {
		return ctx, failBodiesAtLimit.grpc.Err()
	}
	// A message trickled in holds a connection and a goroutine; exporters
	// send theirs within their own timeout (10 s by default), far inside
	// this one.
	ctx, cancel := context.WithCancelCause(ctx)
	slow := time.AfterFunc(ReceiveTimeout, func() { cancel(errSlowClient) })
	context.AfterFunc(ctx, func() { slow.Stop() })
	return context.WithValue(ctx, receivingKey{}, slow), nil
}

// ReceiveTimeout bounds how long a client may take to send one export
// request, on both receivers.
const ReceiveTimeout = time.Minute

var errSlowClient = errors.New("the export request was not received in time")

// receivingKey carries the timer that ends a stream whose message takes
// too long to arrive; the handler stops it.
type receivingKey struct{}

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
				info := &grpc.UnaryServerInfo{FullMethod: exportMethod}
				return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
					return g.export(ctx, req.(*wireMessage))
				})
			},
		}},
		Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, struct{}{})
}

func (g *GRPCService) export(ctx context.Context, in *wireMessage) (*wireMessage, error) {
	if slow, ok := ctx.Value(receivingKey{}).(*time.Timer); ok {
		slow.Stop()
	}
	// Responses go uncompressed: they are a few bytes, and the gzip this
	// server registers only compresses for the clients of this process.
	grpc.SetSendCompressor(ctx, encoding.Identity)
	res, err := g.Budget.reserve(int64(cap(in.b)))
	if err != nil {
		return nil, submitFailure(err).grpc.Err()
	}
	defer res.release()
	// Under overload a request waits here, holding its message within the
	// budget, rather than its decoded spans.
	if err := g.Ingest.AwaitRoom(ctx); err != nil {
		return nil, submitFailure(err).grpc.Err()
	}
	body := in.b
	if isGzip(body) {
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer putBuffer(buf)
		if err := inflate(buf, body, int64(cap(body)), "gzip", int64(g.MaxRecvBytes), res); err != nil {
			return nil, inflateStatus(err)
		}
		in.b, body = nil, buf.Bytes()
		res.resize(int64(buf.Cap()))
	}
	project := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ProjectHeader); len(v) > 0 {
			project = v[0]
		}
	}
	decoded, err := g.Slots.decode(ctx, func(req ptraceotlp.ExportRequest) error { return UnmarshalProto(req, body) }, project)
	in.b, body = nil, nil
	res.release()
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.InvalidArgument, "message is not a valid OTLP ExportTraceServiceRequest: %v", err)
	}
	if err := g.Ingest.Submit(ctx, decoded.Spans); err != nil {
		return nil, submitFailure(err).grpc.Err()
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
