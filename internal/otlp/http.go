package otlp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/span"
)

// Submitter queues decoded spans and returns once they are durable.
type Submitter interface {
	// Admit tells whether a request would be refused now, before it costs
	// the reading and decoding.
	Admit() error
	Submit(ctx context.Context, spans []span.Span) error
}

// DecodeSlots bounds how many requests are decoded at once, across both
// receivers. Decoding is CPU work: more requests at once than cores only
// hold more memory (a request takes three to six times its wire size
// while it is decoded).
type DecodeSlots chan struct{}

// NewDecodeSlots allows n decodes at once.
func NewDecodeSlots(n int) DecodeSlots { return make(DecodeSlots, max(n, 1)) }

// decode unmarshals and decodes a request in a slot; a nil DecodeSlots
// does not limit.
func (d DecodeSlots) decode(ctx context.Context, unmarshal func(ptraceotlp.ExportRequest) error, project string) (Decoded, error) {
	if d != nil {
		select {
		case d <- struct{}{}:
			defer func() { <-d }()
		case <-ctx.Done():
			return Decoded{}, ctx.Err()
		}
	}
	req := ptraceotlp.NewExportRequest()
	if err := unmarshal(req); err != nil {
		return Decoded{}, err
	}
	return Decode(req.Traces(), project), nil
}

// ProjectHeader names the project for every span of an HTTP request.
const ProjectHeader = "x-project-name"

const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// HTTPHandler serves POST /v1/traces.
type HTTPHandler struct {
	Ingest       Submitter
	MaxBodyBytes int64 // after decompression as well as before
	Slots        DecodeSlots
	Log          *slog.Logger
}

// Routes registers the OTLP/HTTP routes on mux.
func (h *HTTPHandler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/traces", h)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// requestError is a client error with the status to answer it with.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	encoding, err := contentType(r.Header.Get("Content-Type"))
	if err != nil {
		httpError(w, err)
		return
	}
	if err := h.Ingest.Admit(); err != nil {
		// Refused before the body is read: under overload, refusing must
		// cost far less than accepting.
		httpError(w, submitError(err))
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	// The body goes back to the pool once decoded (decoding copies what it
	// keeps), not when the spans are stored: a request waiting for its
	// commit should not also hold its body.
	release := func() {
		if buf != nil && buf.Cap() <= 16<<20 {
			bufPool.Put(buf)
		}
		buf = nil
	}
	defer release()
	if err := h.readBody(w, r, buf); err != nil {
		httpError(w, err)
		return
	}
	decoded, err := h.Slots.decode(r.Context(), func(req ptraceotlp.ExportRequest) error {
		if encoding == contentTypeJSON {
			return UnmarshalJSON(req, buf.Bytes())
		}
		return UnmarshalProto(req, buf.Bytes())
	}, r.Header.Get(ProjectHeader))
	release()
	if err != nil {
		if r.Context().Err() != nil {
			httpError(w, submitError(err))
			return
		}
		httpError(w, &requestError{http.StatusBadRequest, fmt.Sprintf("body is not a valid OTLP ExportTraceServiceRequest (%s): %v", encoding, err)})
		return
	}
	if err := h.Ingest.Submit(r.Context(), decoded.Spans); err != nil {
		httpError(w, submitError(err))
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if decoded.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(decoded.Rejected)
		resp.PartialSuccess().SetErrorMessage(decoded.Message)
	}
	var body []byte
	if encoding == contentTypeJSON {
		body, err = resp.MarshalJSON()
	} else {
		body, err = resp.MarshalProto()
	}
	if err != nil {
		h.Log.Error("encode export response", "err", err)
		http.Error(w, "could not encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", encoding)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func contentType(header string) (string, error) {
	if header == "" {
		return "", &requestError{http.StatusUnsupportedMediaType, "missing Content-Type: send application/x-protobuf or application/json"}
	}
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return "", &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported content type: %s", header)}
	}
	switch mt {
	case contentTypeProtobuf, contentTypeJSON:
		return mt, nil
	}
	return "", &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported content type: %s; send application/x-protobuf or application/json", header)}
}

// readBody reads the (possibly compressed) body into buf, bounding its size
// before and after decompression.
func (h *HTTPHandler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	body := http.MaxBytesReader(w, r.Body, h.MaxBodyBytes)
	var rd io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return decompressError(enc, err)
		}
		defer gz.Close()
		rd = gz
	case "deflate":
		// HTTP's deflate is zlib-wrapped, but some clients send raw deflate.
		raw, err := io.ReadAll(body)
		if err != nil {
			return readError(err, h.MaxBodyBytes)
		}
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			rd = flate.NewReader(bytes.NewReader(raw))
		} else {
			defer zr.Close()
			rd = zr
		}
	default:
		return &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Encoding: %s; use gzip or deflate", enc)}
	}
	n, err := buf.ReadFrom(io.LimitReader(rd, h.MaxBodyBytes+1))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return readError(err, h.MaxBodyBytes)
		}
		if rd != io.Reader(body) {
			return decompressError(r.Header.Get("Content-Encoding"), err)
		}
		return &requestError{http.StatusBadRequest, fmt.Sprintf("could not read the request body: %v", err)}
	}
	if n > h.MaxBodyBytes {
		return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes after decompression", h.MaxBodyBytes)}
	}
	return nil
}

func readError(err error, limit int64) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit)}
	}
	return &requestError{http.StatusBadRequest, fmt.Sprintf("could not read the request body: %v", err)}
}

func decompressError(enc string, err error) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf("could not decompress the %s body: %v", enc, err)}
}

// submitError maps queue errors to HTTP answers OTLP exporters retry on.
func submitError(err error) error {
	switch {
	case errors.Is(err, ingest.ErrOverloaded):
		return &requestError{http.StatusServiceUnavailable, "server is at capacity; retry later"}
	case errors.Is(err, ingest.ErrStopped):
		return &requestError{http.StatusServiceUnavailable, "server is shutting down; retry later"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &requestError{http.StatusServiceUnavailable, "request ended before its spans were stored; retry"}
	}
	return &requestError{http.StatusInternalServerError, "could not store the spans: " + err.Error()}
}

// RetryAfterSeconds is what overloaded answers ask clients to wait.
const RetryAfterSeconds = 1

func httpError(w http.ResponseWriter, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{http.StatusInternalServerError, err.Error()}
	}
	if re.status == http.StatusServiceUnavailable || re.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	http.Error(w, re.msg, re.status)
}
