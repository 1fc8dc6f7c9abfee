package spanquery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// Store is what a span query reads.
type Store interface {
	ProjectByName(ctx context.Context, name string) (store.Project, error)
	SpanKeys(ctx context.Context, q store.SpanQuery) ([]store.SpanKey, error)
	SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]store.SpanRecord, error)
}

// Streamer answers span queries from a store.
type Streamer struct {
	Store Store
	Log   *slog.Logger
	// Query runs one store query for r, under the deadline the server gives
	// each; nil runs it with r's context alone.
	Query func(r *http.Request, q func(ctx context.Context) error) error

	paging paging // the zero value is the default
}

// spanKeysPage is how many span keys one store query reads. Keys are 16
// bytes; pages this large let SQLite sort each second of its start-time
// index about once (a busy project stores tens of thousands of spans a
// second), where pages of spans re-sort the second they stop in every time.
const spanKeysPage = 32_768

// spansPage is how many spans one store query reads.
const spansPage = 500

// keepAliveAfter is how long an answer may go without a byte before one is
// written (answerStream): well inside the 5 seconds phoenix-client waits by
// default.
const keepAliveAfter = 2 * time.Second

// paging holds how span queries stream; tests shrink it to cross page
// boundaries with few spans, and to write keep-alive newlines often.
type paging struct {
	keysPage, spansPage int
	keepAlive           time.Duration
}

func (s *Streamer) pagingOf() paging {
	p := s.paging
	if p.keysPage <= 0 {
		p.keysPage = spanKeysPage
	}
	if p.spansPage <= 0 {
		p.spansPage = spansPage
	}
	if p.keepAlive <= 0 {
		p.keepAlive = keepAliveAfter
	}
	return p
}

// Answer writes the answer to req, over the spans of project, to w: each
// query's DataFrame is streamed, so an export of a million spans holds a
// page of them in memory, not the answer. It returns an error only while
// none of the answer is written, for the caller to answer with its status
// (a *Error says which); a later one ends the connection early, which is
// what tells the client that the answer is incomplete.
func (s *Streamer) Answer(w http.ResponseWriter, r *http.Request, project string, req Request) error {
	boundary := newBoundary()
	out := newAnswerStream(w, func(h http.Header) {
		h.Set("Content-Type", "multipart/mixed; boundary="+boundary)
	}, s.pagingOf().keepAlive)
	err := s.stream(r, out, boundary, project, req)
	out.close()
	switch {
	case err == nil:
		return nil
	case !out.committed():
		return err
	case errors.Is(err, context.Canceled) || r.Context().Err() != nil:
		return nil
	}
	// The status is out; ending the connection before the answer ends
	// is what tells the client that it is incomplete.
	s.Log.Warn("span query failed after its answer started", "err", err)
	panic(http.ErrAbortHandler)
}

// stream writes the answer's parts. Every query reads the spans stored
// when the request began (the highest row id then), so that its two
// passes, and its queries, see the same spans whatever arrives meanwhile.
func (s *Streamer) stream(r *http.Request, out *answerStream, boundary, project string, req Request) error {
	var p store.Project
	err := s.query(r, func(ctx context.Context) (err error) {
		p, err = s.Store.ProjectByName(ctx, project)
		return err
	})
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var pin int64
	if found { // an unknown project is simply one without spans, as in Phoenix
		err := s.query(r, func(ctx context.Context) error {
			newest, err := s.Store.SpanKeys(ctx, store.SpanQuery{ProjectID: p.ID, Limit: 1})
			if len(newest) > 0 {
				pin = newest[0].RowID
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	for i, q := range req.queries {
		sq := store.SpanQuery{ProjectID: p.ID, StartTime: req.opts.start, EndTime: req.opts.end, Filter: q.filter,
			MaxRowID: pin, HasAttribute: q.listKey()}
		switch {
		case req.opts.roots != nil && sq.Filter != nil:
			sq.Filter = &query.BoolExpr{Op: query.And, X: sq.Filter, Y: req.opts.roots}
		case req.opts.roots != nil:
			sq.Filter = req.opts.roots
		}
		if err := s.streamFrame(r, out, partHead(boundary, i), q, sq, req.opts.limit); err != nil {
			return err
		}
	}
	return out.write([]byte(multipartEnd(boundary)))
}

// query runs one store query.
func (s *Streamer) query(r *http.Request, q func(ctx context.Context) error) error {
	if s.Query == nil {
		return q(r.Context())
	}
	return s.Query(r, q)
}

// eachSpan calls fn with the spans sq selects, in its order, until fn
// returns false or an error. Keys come a page at a time, then the spans of
// a few keys at a time, so memory holds one page of keys and a few of spans
// whatever the count. Every store query gets its own deadline. The spans
// are read on a goroutine of their own, a page ahead of fn: reading and
// reshaping each take about half of an export's time, and a server has
// more than one core.
func (s *Streamer) eachSpan(r *http.Request, sq store.SpanQuery, light bool, fn func(*spanRow) (bool, error)) error {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pages := make(chan []store.SpanRecord, 1)
	read := make(chan error, 1)
	go func() {
		defer close(pages)
		read <- s.readSpans(r.WithContext(ctx), sq, light, func(recs []store.SpanRecord) bool {
			select {
			case pages <- recs:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for recs := range pages {
		for i := range recs {
			cont, err := fn(&spanRow{rec: &recs[i]})
			if err != nil || !cont {
				cancel()
				for range pages {
				}
				return err
			}
		}
	}
	return <-read
}

// readSpans hands the spans sq selects to page, a page at a time, until
// page returns false.
func (s *Streamer) readSpans(r *http.Request, sq store.SpanQuery, light bool, page func([]store.SpanRecord) bool) error {
	pages := s.pagingOf()
	sq.OrderByStartTime = true
	sq.Limit = pages.keysPage + 1
	for {
		var keys []store.SpanKey
		err := s.query(r, func(ctx context.Context) (err error) {
			keys, err = s.Store.SpanKeys(ctx, sq)
			return err
		})
		if err != nil {
			return err
		}
		more := len(keys) == sq.Limit
		if more {
			next := keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			sq.Cursor, sq.CursorStartTime = next.RowID, next.StartTime
		}
		for start := 0; start < len(keys); start += pages.spansPage {
			chunk := keys[start:min(start+pages.spansPage, len(keys))]
			ids := make([]int64, len(chunk))
			for i, k := range chunk {
				ids[i] = k.RowID
			}
			var recs []store.SpanRecord
			err := s.query(r, func(ctx context.Context) (err error) {
				recs, err = s.Store.SpansByRowID(ctx, ids, light)
				return err
			})
			if err != nil {
				return err
			}
			if !page(recs) {
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}

// keyAfter reports whether k comes after last in start-time order, newest
// first.
func keyAfter(k, last store.SpanKey) bool {
	return k.StartTime < last.StartTime || (k.StartTime == last.StartTime && k.RowID < last.RowID)
}

// directRows is a frameShape that writes a span's row itself, rather
// than as values for table.appendRow.
type directRows interface {
	appendRow(b []byte, t *table, r *spanRow, first bool) ([]byte, bool, error)
}

// streamFrame writes one query's DataFrame to out: a first pass over the
// spans it covers learns the columns, then the part's head is written, then
// a second pass over the same spans writes the rows.
func (s *Streamer) streamFrame(r *http.Request, out *answerStream, partHead string, q spanQuery, sq store.SpanQuery, limit int) error {
	shape := q.shape()
	var last store.SpanKey
	n := 0
	if limit > 0 && sq.MaxRowID > 0 {
		err := s.eachSpan(r, sq, true, func(row *spanRow) (bool, error) {
			if keep, err := q.covers(row); !keep || err != nil {
				return true, err
			}
			if err := shape.scan(row); err != nil {
				return false, err
			}
			n++
			last = store.SpanKey{RowID: row.rec.RowID, StartTime: row.rec.StartTime}
			return n < limit, nil
		})
		if err != nil {
			return err
		}
	}
	index, cols, types := shape.layout()
	t := newTable(index, cols, types)
	b := t.appendHead(append(make([]byte, 0, 64<<10), partHead...))
	if err := out.write(b); err != nil {
		return err
	}
	b = b[:0]
	written, skipped := 0, 0
	if n > 0 {
		emit := func(row []any) error {
			b = t.appendRow(b, row, written == 0)
			written++
			if len(b) >= 60<<10 {
				if err := out.write(b); err != nil {
					return err
				}
				b = b[:0]
			}
			return nil
		}
		m := 0
		err := s.eachSpan(r, sq, false, func(row *spanRow) (bool, error) {
			if keyAfter(store.SpanKey{RowID: row.rec.RowID, StartTime: row.rec.StartTime}, last) {
				return false, nil
			}
			if keep, err := q.covers(row); !keep || err != nil {
				return true, err
			}
			var ok bool
			var err error
			if d, direct := shape.(directRows); direct {
				if b, ok, err = d.appendRow(b, &t, row, written == 0); ok {
					written++
					if len(b) >= 60<<10 {
						if err := out.write(b); err != nil {
							return false, err
						}
						b = b[:0]
					}
				}
			} else {
				ok, err = shape.rows(row, emit)
			}
			if err != nil {
				return false, err
			}
			if !ok {
				skipped++
				return true, nil
			}
			m++
			return m < n, nil
		})
		if err != nil {
			return err
		}
	}
	if skipped > 0 {
		s.Log.Warn("span query: spans that changed while it ran were left out", "project_id", sq.ProjectID,
			"left_out", skipped, "spans", n)
	}
	return out.write(append(b, tableTail...))
}

// answerStream writes an answer that is streamed. Until a query's first
// pass has learnt its columns, none of its part can be written, and a
// client that waits too long between bytes gives up (phoenix-client's
// get_spans_dataframe allows 5 seconds by default). So once the answer has
// taken every without being written to, the stream commits to 200 and
// writes a newline, and again whenever every passes without a write. Writes
// end where whitespace is allowed, so the newlines land in the multipart
// preamble or between JSON values, which every reader skips.
//
// Until the stream commits, an error can still be answered with its own
// status; after, only by ending the connection before the answer ends.
type answerStream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	header func(http.Header)
	every  time.Duration

	mu      sync.Mutex
	started bool
	last    time.Time
	err     error // the first write error: the client went away

	stop chan struct{}
	done chan struct{}
}

func newAnswerStream(w http.ResponseWriter, header func(http.Header), every time.Duration) *answerStream {
	s := &answerStream{w: w, rc: http.NewResponseController(w), header: header, every: every,
		last: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go s.keepAlive()
	return s
}

func (s *answerStream) keepAlive() {
	defer close(s.done)
	tick := time.NewTicker(s.every / 4)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.mu.Lock()
			if time.Since(s.last) >= s.every {
				s.writeLocked([]byte("\n"))
			}
			s.mu.Unlock()
		}
	}
}

// write writes p, which must end where whitespace may follow.
func (s *answerStream) write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLocked(p)
	return s.err
}

func (s *answerStream) writeLocked(p []byte) {
	if s.err != nil {
		return
	}
	if !s.started {
		s.started = true
		s.header(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	if _, err := s.w.Write(p); err != nil {
		s.err = err
		return
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
	s.last = time.Now()
}

// close stops the keep-alive writes; the stream must not be used after.
func (s *answerStream) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// committed reports whether the status has been written.
func (s *answerStream) committed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}
