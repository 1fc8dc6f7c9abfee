package bench

import (
	"context"
	"net/http"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// outcome is how the server answered one export request.
type outcome int

const (
	outcomeFailed  outcome = iota // no answer, or an answer that resending will not change
	outcomeAcked                  // the spans are stored
	outcomeRefused                // the server is at capacity: back off and resend
)

// probe watches the requests of one app's exporter. The OTLP exporters
// report a refusal only as an opaque error, so the status is read off the
// wire; each app has one export in flight at a time, so "the last request"
// is the one the exporter just made.
type probe struct {
	last  atomic.Int64 // outcome of the last request
	bytes atomic.Int64 // body size of the last request
}

func (p *probe) reset() {
	p.last.Store(int64(outcomeFailed))
	p.bytes.Store(0)
}

func (p *probe) outcome() outcome { return outcome(p.last.Load()) }

// roundTripper records the status and size of OTLP/HTTP requests.
type roundTripper struct {
	next  http.RoundTripper
	probe *probe
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.probe.bytes.Store(max(req.ContentLength, 0))
	resp, err := rt.next.RoundTrip(req)
	switch {
	case err != nil:
		rt.probe.last.Store(int64(outcomeFailed))
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		rt.probe.last.Store(int64(outcomeAcked))
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		rt.probe.last.Store(int64(outcomeRefused))
	default:
		rt.probe.last.Store(int64(outcomeFailed))
	}
	return resp, err
}

// interceptor records the status and size of OTLP/gRPC requests.
func (p *probe) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m, ok := req.(proto.Message); ok {
		p.bytes.Store(int64(proto.Size(m)))
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	switch status.Code(err) {
	case codes.OK:
		p.last.Store(int64(outcomeAcked))
	case codes.ResourceExhausted:
		p.last.Store(int64(outcomeRefused))
	default:
		p.last.Store(int64(outcomeFailed))
	}
	return err
}
