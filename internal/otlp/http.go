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
	Submit(ctx context.Context, spans []span.Span, bytes int) error
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
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 16<<20 {
			bufPool.Put(buf)
		}
	}()
	if err := h.readBody(w, r, buf); err != nil {
		httpError(w, err)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if encoding == contentTypeJSON {
		err = req.UnmarshalJSON(buf.Bytes())
	} else {
		err = req.UnmarshalProto(buf.Bytes())
	}
	if err != nil {
		httpError(w, &requestError{http.StatusBadRequest, fmt.Sprintf("body is not a valid OTLP ExportTraceServiceRequest (%s): %v", encoding, err)})
		return
	}
	decoded := Decode(req.Traces(), r.Header.Get(ProjectHeader))
	if err := h.Ingest.Submit(r.Context(), decoded.Spans, buf.Len()); err != nil {
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
