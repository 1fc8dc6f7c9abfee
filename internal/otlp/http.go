package otlp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/route"
	"github.com/loupe-dev/loupe/internal/span"
)

// Submitter queues decoded spans and returns once they are durable.
type Submitter interface {
	// Admit tells whether a request would be refused now (the server is
	// stopping), before it costs the reading.
	Admit() error
	// AwaitRoom waits until the queue has room, before a read request is
	// decoded, or reports why it gave up.
	AwaitRoom(ctx context.Context) error
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
	Budget       *Budget // bodies held at once; nil for no bound
	Log          *slog.Logger

	misroutesMu sync.Mutex
	misroutes   map[string]bool // paths OTLP was wrongly sent to, logged once each
}

// maxMisroutes bounds the wrong paths remembered (and logged).
const maxMisroutes = 32

// Handler serves the OTLP/HTTP receiver's routes, each through middleware
// (the server's authentication, when on).
func (h *HTTPHandler) Handler(middleware ...route.Middleware) *route.Table {
	return route.NewTable([]route.Route{
		route.Handle("POST /v1/traces", h),
		// Every other POST no route takes: an exporter pointed at the base
		// URL posts to "/", and its spans would be lost with a bare 404.
		route.HandleFunc("POST /", h.misrouted),
	}, middleware...)
}

// misrouted answers a POST to a path no route takes. When it carries OTLP
// it says where OTLP goes, in the answer the exporter logs and once in
// Loupe's log.
func (h *HTTPHandler) misrouted(w http.ResponseWriter, r *http.Request) {
	if !looksLikeOTLP(r) {
		http.Error(w, fmt.Sprintf("404 page not found: nothing here takes POST %s", r.URL.Path), http.StatusNotFound)
		return
	}
	if h.firstMisroute(r.URL.Path) {
		h.Log.Warn("OTLP export sent to the wrong path; its spans were not stored", "path", r.URL.Path,
			"remote", r.RemoteAddr, "want", "/v1/traces")
	}
	http.Error(w, fmt.Sprintf("Loupe receives OTLP traces at POST /v1/traces, not %s: set the exporter's traces endpoint to "+
		"http://HOST:PORT/v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), or its base endpoint to http://HOST:PORT "+
		"(OTEL_EXPORTER_OTLP_ENDPOINT), to which the exporter adds /v1/traces. Loupe takes traces only, no metrics or logs.", r.URL.Path),
		http.StatusNotFound)
}

// firstMisroute reports whether OTLP was not sent to path before.
func (h *HTTPHandler) firstMisroute(path string) bool {
	h.misroutesMu.Lock()
	defer h.misroutesMu.Unlock()
	if h.misroutes[path] || len(h.misroutes) >= maxMisroutes {
		return false
	}
	if h.misroutes == nil {
		h.misroutes = map[string]bool{}
	}
	h.misroutes[path] = true
	return true
}

// looksLikeOTLP tells an OTLP export from a mistyped API call: protobuf is
// only ever OTLP here, and OTLP/JSON opens with its resource lists.
func looksLikeOTLP(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case contentTypeProtobuf:
		return true
	case contentTypeJSON:
		if !isIdentity(r.Header.Get("Content-Encoding")) {
			return true
		}
		head := make([]byte, 256)
		n, _ := io.ReadFull(r.Body, head)
		s := string(head[:n])
		return strings.Contains(s, `"resourceSpans"`) || strings.Contains(s, `"resource_spans"`) ||
			strings.Contains(s, `"resourceMetrics"`) || strings.Contains(s, `"resourceLogs"`)
	}
	return false
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// requestError is a client error with the status to answer it with.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// maxPooledBuffer is the largest body buffer kept for reuse: a request is
// charged its buffer's capacity, so a large pooled buffer would make a
// small request look large.
const maxPooledBuffer = 1 << 20

// putBuffer keeps a body buffer for reuse unless it is large.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		bufPool.Put(b)
	}
}

// readChunk is what a body is first given of the budget when its size is
// not known beforehand (compressed, or sent in chunks).
const readChunk = 64 << 10

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	encoding, err := contentType(r.Header.Get("Content-Type"))
	if err != nil {
		httpError(w, err)
		return
	}
	if r.ContentLength > h.MaxBodyBytes {
		httpError(w, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", h.MaxBodyBytes)})
		return
	}
	if err := h.Ingest.Admit(); err != nil {
		httpError(w, err)
		return
	}
	compressed := !isIdentity(r.Header.Get("Content-Encoding"))
	initial := int64(readChunk)
	if r.ContentLength > 0 && !compressed {
		initial = r.ContentLength
	}
	res, err := h.Budget.reserve(min(initial, h.MaxBodyBytes))
	if err != nil {
		httpError(w, err)
		return
	}
	defer res.release()
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	// The body goes back to the pool once decoded (decoding copies what it
	// keeps), not when the spans are stored: a request waiting for its
	// commit should not also hold its body.
	release := func() {
		if buf != nil {
			putBuffer(buf)
		}
		buf = nil
		res.release()
	}
	defer release()
	if r.ContentLength > 0 && !compressed {
		buf.Grow(int(r.ContentLength))
	}
	if err := h.readBody(w, r, buf, res); err != nil {
		httpError(w, err)
		return
	}
	// Under overload a request waits here, holding its body within the
	// budget, rather than its decoded spans.
	if err := h.Ingest.AwaitRoom(r.Context()); err != nil {
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
			httpError(w, err)
			return
		}
		httpError(w, &requestError{http.StatusBadRequest, fmt.Sprintf("body is not a valid OTLP ExportTraceServiceRequest (%s): %v", encoding, err)})
		return
	}
	if err := h.Ingest.Submit(r.Context(), decoded.Spans); err != nil {
		httpError(w, err)
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

// isIdentity reports whether a Content-Encoding leaves the body as it is.
func isIdentity(enc string) bool {
	enc = strings.ToLower(strings.TrimSpace(enc))
	return enc == "" || enc == "identity"
}

// readBody reads the (possibly compressed) body into buf, bounding its size
// before and after decompression and counting what it holds against res.
func (h *HTTPHandler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, res *reservation) error {
	body := http.MaxBytesReader(w, r.Body, h.MaxBodyBytes)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return readInto(buf, body, res, 0, "", h.MaxBodyBytes)
	case "gzip", "x-gzip", "deflate":
	default:
		return &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Encoding: %s; use gzip or deflate", enc)}
	}
	// A compressed body is read whole before it is inflated: it is small
	// beside what it inflates to, and gzip's trailer then tells that size,
	// so the inflated body is allocated once rather than by doubling, which
	// would leave as much again behind as garbage.
	compressed := bufPool.Get().(*bytes.Buffer)
	compressed.Reset()
	defer putBuffer(compressed)
	if err := readInto(compressed, body, res, 0, "", h.MaxBodyBytes); err != nil {
		return err
	}
	return inflate(buf, compressed.Bytes(), int64(compressed.Cap()), enc, h.MaxBodyBytes, res)
}

// inflate inflates compressed, encoded with enc (gzip or deflate), into
// dst, up to limit bytes, counting dst and held other bytes against res.
func inflate(dst *bytes.Buffer, compressed []byte, held int64, enc string, limit int64, res *reservation) error {
	var rd io.Reader
	var err error
	if enc == "deflate" {
		rd, err = inflateDeflate(bytes.NewReader(compressed))
	} else {
		if size := gzipSize(compressed); size > 0 && size <= limit {
			if !res.atLeast(held + size) {
				return errOverBudget
			}
			dst.Grow(int(size))
		}
		rd, err = gzip.NewReader(bytes.NewReader(compressed))
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return readFailure(err, limit, enc)
	}
	return readInto(dst, rd, res, held, enc, limit)
}

// inflateDeflate reads HTTP's deflate, which is zlib-wrapped, or the raw
// deflate some clients send: a zlib stream opens with a header whose first
// 16 bits are a multiple of 31 and name the deflate method.
func inflateDeflate(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// gzipSize is the inflated size a gzip stream's trailer states (modulo
// 2^32, of its last member): a hint to size the buffer, never trusted
// further than the body limit.
func gzipSize(b []byte) int64 {
	if len(b) < 18 {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
}

// readInto reads rd into buf, up to limit bytes, counting buf and held
// other bytes against res. enc names the encoding rd inflates, if any.
func readInto(buf *bytes.Buffer, rd io.Reader, res *reservation, held int64, enc string, limit int64) error {
	n, err := buf.ReadFrom(&budgetReader{r: io.LimitReader(rd, limit+1), res: res, buf: buf, held: held})
	if err != nil {
		return readFailure(err, limit, enc)
	}
	if n > limit {
		if enc != "" {
			return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes after decompression", limit)}
		}
		return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit)}
	}
	return nil
}

// budgetReader counts the buffer a body is read into, with what else the
// request holds, against its reservation as the buffer grows, and stops
// the read when the budget cannot hold more.
type budgetReader struct {
	r    io.Reader
	res  *reservation
	buf  *bytes.Buffer
	held int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	// bytes.Buffer.ReadFrom grows the buffer before it reads into it; the
	// buffer's capacity is what the request holds.
	if !b.res.atLeast(b.held + int64(b.buf.Cap())) {
		return 0, errOverBudget
	}
	return b.r.Read(p)
}

// readFailure says why a body could not be read: too large, over the
// budget, not decompressible (enc names the encoding), or cut short.
func readFailure(err error, limit int64, enc string) error {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit)}
	case errors.Is(err, errOverBudget):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &requestError{http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive within %v", ReceiveTimeout)}
	case enc != "":
		return &requestError{http.StatusBadRequest, fmt.Sprintf("could not decompress the %s body: %v", enc, err)}
	}
	return &requestError{http.StatusBadRequest, fmt.Sprintf("could not read the request body: %v", err)}
}

// httpError answers a client error with its status, and anything else as
// a failure that may pass.
func httpError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		http.Error(w, re.msg, re.status)
		return
	}
	submitFailure(err).writeHTTP(w)
}
