package otlp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/loupe-dev/loupe/internal/ingest"
)

// How a failure is answered decides whether the exporter keeps its spans.
// The OTLP specification's exporters (Go, Python, JS) retry HTTP 429, 502,
// 503 and 504, waiting for Retry-After, and gRPC UNAVAILABLE and a few
// others — but RESOURCE_EXHAUSTED only when it carries a
// google.rpc.RetryInfo, and never INTERNAL or HTTP 500. So whatever may
// pass (a full queue, too many bodies at once, a database that is down or
// a disk that is full, a shutdown) is answered as retryable, and only what
// the client sent wrong is answered as permanent. Answers carry no internal
// detail; the log has it.

// RetryAfter is how long refused clients are asked to wait.
const RetryAfter = time.Second

// retryAfterHeader is RetryAfter in whole seconds, as Retry-After takes it.
var retryAfterHeader = strconv.Itoa(int(RetryAfter / time.Second))

// Messages of retryable answers, shared by both receivers.
const (
	msgAtCapacity    = "server is at capacity; retry later"
	msgShuttingDown  = "server is shutting down; retry later"
	msgRequestEnded  = "request ended before its spans were stored; retry"
	msgStoreFailed   = "could not store the spans now; retry later"
	msgBodiesAtLimit = "server is receiving as much as it can hold; retry later"
)

// failure is how a receiver answers an error: an HTTP status and a gRPC
// status, with one message for both.
type failure struct {
	http  int
	grpc  *status.Status
	msg   string
	retry bool // the answer asks the client to retry
}

// retryInfo is attached to RESOURCE_EXHAUSTED, without which exporters
// drop the batch.
var retryInfo = &errdetails.RetryInfo{RetryDelay: durationpb.New(RetryAfter)}

func retryable(code codes.Code, msg string) failure {
	st, err := status.New(code, msg).WithDetails(retryInfo)
	if err != nil { // only if RetryInfo could not be marshalled
		st = status.New(code, msg)
	}
	return failure{http: http.StatusServiceUnavailable, grpc: st, msg: msg, retry: true}
}

var (
	failAtCapacity    = retryable(codes.ResourceExhausted, msgAtCapacity)
	failBodiesAtLimit = retryable(codes.ResourceExhausted, msgBodiesAtLimit)
	failShuttingDown  = retryable(codes.Unavailable, msgShuttingDown)
	failStoreFailed   = retryable(codes.Unavailable, msgStoreFailed)
)

// submitFailure maps an error from admission or ingest.Submit. Every such
// error is one that may pass: the input was already decoded and accepted.
func submitFailure(err error) failure {
	switch {
	case errors.Is(err, ingest.ErrOverloaded):
		return failAtCapacity
	case errors.Is(err, errOverBudget):
		return failBodiesAtLimit
	case errors.Is(err, ingest.ErrStopped):
		return failShuttingDown
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		f := retryable(codes.Unavailable, msgRequestEnded)
		f.grpc = status.FromContextError(err)
		return f
	}
	return failStoreFailed
}

// writeHTTP answers f on w.
func (f failure) writeHTTP(w http.ResponseWriter) {
	if f.retry {
		w.Header().Set("Retry-After", retryAfterHeader)
	}
	http.Error(w, f.msg, f.http)
}
