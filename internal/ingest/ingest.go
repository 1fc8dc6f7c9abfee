// Package ingest is the write path between the receivers and the store: a
// queue bounded in spans and bytes, and one writer that commits many
// requests per transaction (group commit). A request is answered only after
// the transaction holding its spans has committed.
//
// While the store is unavailable (store.ErrUnavailable: a database
// restarting, a full disk) the writer keeps the batch it holds and writes
// it again until the store takes it, so a short outage loses nothing even
// of the requests whose clients gave up waiting; requests wait for their
// spans as long as their deadline allows (HoldWhileFailing without one),
// and the queue, full, refuses the rest for their clients to send later.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// ErrOverloaded means the queue is full; the client should retry later.
var ErrOverloaded = errors.New("ingest queue is full")

// ErrStopped means the server is shutting down and accepts no more spans.
var ErrStopped = errors.New("server is shutting down")

// Config bounds the queue and the batches.
type Config struct {
	MaxQueueSpans int   // spans waiting or being written; beyond it requests are refused
	MaxQueueBytes int64 // memory those spans hold (span.Footprint)
	MaxBatchSpans int   // spans per transaction
	// CheckInterval spaces the checks of a store whose writes fail, while
	// no batch comes to tell (DefaultCheckInterval when 0).
	CheckInterval time.Duration
	// Hold is how long a request without a deadline waits for its spans
	// while writes fail (HoldWhileFailing when 0).
	Hold time.Duration
}

// DefaultCheckInterval is how soon an idle server notices that a store
// whose writes failed takes them again.
const DefaultCheckInterval = 5 * time.Second

// checkTimeout bounds one check of the store.
const checkTimeout = 10 * time.Second

// HoldWhileFailing is how long a request without a deadline of its own
// (OTLP/HTTP) waits for its spans while writes fail, before it is answered
// as one to retry: less than the 10 s exporters wait for an answer by
// default. Its spans stay queued, to be written once the store is back.
const HoldWhileFailing = 5 * time.Second

// Pauses between attempts at a batch the store did not take.
const (
	firstRetryPause = 100 * time.Millisecond
	maxRetryPause   = time.Second
)

// DefaultConfig holds a second or more of ingest at full speed, enough to
// keep the writer's batches large, in 64 MiB.
func DefaultConfig() Config {
	return Config{MaxQueueSpans: 100_000, MaxQueueBytes: 64 << 20, MaxBatchSpans: 10_000,
		CheckInterval: DefaultCheckInterval, Hold: HoldWhileFailing}
}

// Stats are cumulative counters, safe to read at any time.
type Stats struct {
	SpansReceived   atomic.Int64 // spans in accepted requests
	SpansStored     atomic.Int64 // spans new to the store
	SpansDuplicate  atomic.Int64 // spans already stored
	SpansFailed     atomic.Int64 // spans whose write failed
	RequestsWaited  atomic.Int64 // requests that waited for room in the queue
	RequestsRefused atomic.Int64 // requests refused because the queue stayed full
	Batches         atomic.Int64
	CommitNanos     atomic.Int64 // time spent writing batches, without the wait for the disk
}

type request struct {
	spans []span.Span
	bytes int64
	done  chan error
}

// Store is what the pipeline writes to. One that is a store.SyncWriter
// as well (SQLite) has each batch made durable while the next is written.
type Store interface {
	store.Writer
	store.WriteChecker
}

// Pipeline queues spans and writes them in batches.
type Pipeline struct {
	cfg   Config
	store Store
	Stats Stats

	mu          sync.Mutex
	pending     []*request
	queuedSpans int
	queuedBytes int64
	closed      bool
	wake        chan struct{}
	// room is closed, and replaced, whenever spans leave the queue: the
	// requests waiting for room then look again.
	room   chan struct{}
	hooks  Hooks
	pricer Pricer
	// syncer and syncs are set when the store is a SyncWriter: written
	// batches go to the acknowledger through syncs.
	syncer store.SyncWriter
	syncs  chan *written

	// errs logs write failures, which repeat with every batch while the
	// store is down, at most once an interval.
	errs   *ratelimited.Logger
	health struct {
		sync.Mutex
		WriteHealth
	}
}

// WriteHealth tells whether the store takes writes.
type WriteHealth struct {
	// Failing is set when a batch could store none of its requests' spans,
	// or a check of the store failed, until a write succeeds.
	Failing bool
	Since   time.Time // when writes began failing
	// Err is the last failure: for the log, not for clients.
	Err error
}

// Unavailable reports whether writes fail for a reason that may pass
// (store.ErrUnavailable): the database unreachable, the disk full.
func (h WriteHealth) Unavailable() bool {
	return h.Failing && errors.Is(h.Err, store.ErrUnavailable)
}

// writeFailed is the log's message for a batch that stored nothing, or a
// check of the store that failed.
const writeFailed = "write spans"

// Pricer sets the cost of a span (span.View.Cost).
type Pricer interface {
	PriceSpan(sp *span.Span)
}

// Hooks are told what each committed batch stored; each may be nil.
type Hooks struct {
	// OnCommit gets the projects that received spans (live views
	// subscribe through it).
	OnCommit func(projects []int64)
	// OnStored gets how long the write took and what it stored (metrics
	// use it).
	OnStored func(took time.Duration, stored *store.WriteResult)
}

// New returns a pipeline writing to w, pricing spans with pricer (none
// when nil). Fields of cfg left zero take DefaultConfig's values. Run must
// be called for it to write.
func New(cfg Config, w Store, log *slog.Logger, hooks Hooks, pricer Pricer) *Pipeline {
	def := DefaultConfig()
	if cfg.MaxQueueSpans <= 0 {
		cfg.MaxQueueSpans = def.MaxQueueSpans
	}
	if cfg.MaxBatchSpans <= 0 {
		cfg.MaxBatchSpans = def.MaxBatchSpans
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = def.MaxQueueBytes
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = def.CheckInterval
	}
	if cfg.Hold <= 0 {
		cfg.Hold = def.Hold
	}
	return &Pipeline{cfg: cfg, store: w, hooks: hooks, pricer: pricer, wake: make(chan struct{}, 1),
		room: make(chan struct{}), errs: &ratelimited.Logger{Log: log}}
}

// WriteHealth reports whether the store took the last writes.
func (p *Pipeline) WriteHealth() WriteHealth {
	p.health.Lock()
	defer p.health.Unlock()
	return p.health.WriteHealth
}

func (p *Pipeline) writesFailed(err error) {
	p.health.Lock()
	wasFailing := p.health.Failing
	if !wasFailing {
		p.health.Failing, p.health.Since = true, time.Now()
	}
	p.health.Err = err
	p.health.Unlock()
	if !wasFailing {
		// The writer arms its check of the store when it next looks.
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (p *Pipeline) writesSucceeded() {
	p.health.Lock()
	p.health.WriteHealth = WriteHealth{}
	p.health.Unlock()
	p.errs.Recovered(writeFailed)
}

// CheckWritable checks that the store takes writes now, and records the
// answer in WriteHealth. The writer runs it while writes fail and no batch
// comes; the server, before it runs the pipeline, to start read-only on a
// store that takes no writes.
func (p *Pipeline) CheckWritable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := p.store.CheckWritable(ctx); err != nil {
		p.errs.Error(writeFailed, "check", true, "err", err)
		p.writesFailed(err)
		return err
	}
	if p.WriteHealth().Failing {
		p.writesSucceeded()
	}
	return nil
}

// QueueDepth is the number of spans accepted and not yet written.
func (p *Pipeline) QueueDepth() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queuedSpans
}

// Admit reports ErrStopped when the server is shutting down, so that
// receivers can refuse a request before reading it.
func (p *Pipeline) Admit() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrStopped
	}
	return nil
}

// AwaitRoom waits until the queue has room for more spans, so that a
// receiver decodes a request only then: a request waiting for room holds
// its body, which the receivers bound, not its decoded spans. It waits as
// long as the request's deadline allows, or the hold without one, and then
// reports ErrOverloaded.
func (p *Pipeline) AwaitRoom(ctx context.Context) error {
	err := p.await(ctx, func() bool {
		return p.queuedSpans < p.cfg.MaxQueueSpans && p.queuedBytes < p.cfg.MaxQueueBytes
	})
	if err == nil {
		p.mu.Unlock()
	}
	return err
}

// await waits until fits holds, and returns nil with p.mu held; or, the
// server stopping, ctx ending or the hold passing, an error without it.
// Under overload, clients then wait within their timeouts rather than
// being refused at once: the Go gRPC exporter, for one, gives up after 10 s
// in all, and its first pause after a refusal is 5 s.
func (p *Pipeline) await(ctx context.Context, fits func() bool) error {
	var hold <-chan time.Time
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return ErrStopped
		}
		if fits() {
			return nil
		}
		room := p.room
		p.mu.Unlock()
		if hold == nil {
			p.Stats.RequestsWaited.Add(1)
			if _, ok := ctx.Deadline(); ok {
				hold = make(chan time.Time) // the deadline decides
			} else {
				t := time.NewTimer(p.cfg.Hold)
				defer t.Stop()
				hold = t.C
			}
		}
		select {
		case <-room:
		case <-ctx.Done():
			p.Stats.RequestsRefused.Add(1)
			return ErrOverloaded
		case <-hold:
			p.Stats.RequestsRefused.Add(1)
			return ErrOverloaded
		}
		p.mu.Lock()
	}
}

// Submit queues spans and waits until they are committed and durable.
// When the queue is full it waits for room as AwaitRoom does; a request
// larger than the whole queue is taken when the queue is empty, so no
// valid request is refused forever.
func (p *Pipeline) Submit(ctx context.Context, spans []span.Span) error {
	if len(spans) == 0 {
		return nil
	}
	// Pricing runs here, on the submitting request's goroutine, so that it
	// spreads over cores instead of lengthening the single writer's batches.
	bytes := 0
	for i := range spans {
		if p.pricer != nil {
			p.pricer.PriceSpan(&spans[i])
		}
		bytes += spans[i].Footprint()
	}
	req := &request{spans: spans, bytes: int64(bytes), done: make(chan error, 1)}
	if err := p.await(ctx, func() bool {
		return p.queuedSpans == 0 ||
			p.queuedSpans+len(spans) <= p.cfg.MaxQueueSpans && p.queuedBytes+req.bytes <= p.cfg.MaxQueueBytes
	}); err != nil {
		return err
	}
	p.queuedSpans += len(spans)
	p.queuedBytes += req.bytes
	p.pending = append(p.pending, req)
	p.mu.Unlock()
	p.Stats.SpansReceived.Add(int64(len(spans)))
	select {
	case p.wake <- struct{}{}:
	default:
	}
	var hold <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTicker(p.cfg.Hold)
		defer t.Stop()
		hold = t.C
	}
	for {
		select {
		case err := <-req.done:
			return err
		case <-ctx.Done():
			// The spans may still be committed; a retry is deduplicated by span_id.
			return ctx.Err()
		case <-hold:
			if p.WriteHealth().Failing {
				// The spans stay queued; the copy the client sends again is
				// not stored twice.
				return errHeld
			}
		}
	}
}

// errHeld answers a request whose spans are queued but could not be
// written within the hold.
var errHeld = store.Unavailable(errors.New("writes are failing; the spans stay queued, to be written when the store is back"))

// Run writes queued spans until ctx is cancelled, then stops taking new
// requests, writes everything already accepted, and returns.
func (p *Pipeline) Run(ctx context.Context) error {
	if sw, ok := p.store.(store.SyncWriter); ok {
		// Batches wait for the disk on their own goroutine while the next
		// one is written; capacity one lets the writer run a batch ahead.
		p.syncer, p.syncs = sw, make(chan *written, 1)
		done := make(chan struct{})
		go func() { p.acknowledge(); close(done) }()
		defer func() { close(p.syncs); <-done }()
	}
	// check, while writes fail, fires once no batch has been written for
	// an interval: batches tell whether the store is back, and checking
	// between them would call it back while they still fail.
	check := time.NewTimer(p.cfg.CheckInterval)
	check.Stop()
	checking := false
	for {
		select {
		case <-p.wake:
			if p.drain(ctx) {
				checking = false
			}
		case <-check.C:
			checking = false
			if p.WriteHealth().Failing {
				p.CheckWritable(ctx)
			}
		case <-ctx.Done():
			check.Stop()
			p.mu.Lock()
			p.closed = true
			p.mu.Unlock()
			p.drain(ctx)
			return nil
		}
		if !checking && p.WriteHealth().Failing {
			check.Reset(p.cfg.CheckInterval)
			checking = true
		}
	}
}

// drain writes batches until the queue is empty, and reports whether it
// wrote any.
func (p *Pipeline) drain(stop context.Context) (wrote bool) {
	for {
		batch := p.take()
		if len(batch) == 0 {
			return wrote
		}
		p.writeBatch(stop, batch)
		wrote = true
	}
}

// take removes up to one batch's worth of requests from the queue.
func (p *Pipeline) take() []*request {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, spans := 0, 0
	for n < len(p.pending) && (n == 0 || spans+len(p.pending[n].spans) <= p.cfg.MaxBatchSpans) {
		spans += len(p.pending[n].spans)
		n++
	}
	batch := p.pending[:n:n]
	p.pending = p.pending[n:]
	if len(p.pending) == 0 {
		p.pending = nil
	}
	return batch
}

// written is a batch whose transactions have ended, to be answered once
// they are durable.
type written struct {
	start    time.Time
	requests []*request
	errs     []error // per request
	results  []store.WriteResult
}

func (p *Pipeline) writeBatch(stop context.Context, batch []*request) {
	// Writes outlive the caller's context: an accepted span is written even
	// when its client has gone or the server is stopping.
	ctx := context.Background()
	w := &written{start: time.Now(), requests: batch, errs: make([]error, len(batch))}
	var all []span.Span
	if len(batch) == 1 {
		all = batch[0].spans
	} else {
		n := 0
		for _, r := range batch {
			n += len(r.spans)
		}
		all = make([]span.Span, 0, n)
		for _, r := range batch {
			all = append(all, r.spans...)
		}
	}
	err := p.write(ctx, w, all)
	// A store that is down now may be back in a moment: write the batch
	// again until it is, or until the server stops.
	for pause := firstRetryPause; errors.Is(err, store.ErrUnavailable) && stop.Err() == nil; pause = min(2*pause, maxRetryPause) {
		p.errs.Error(writeFailed, "requests", len(batch), "spans", len(all), "err", err, "retry", true)
		p.writesFailed(err)
		select {
		case <-stop.Done():
		case <-time.After(pause):
			err = p.write(ctx, w, all)
		}
	}
	if err != nil && len(batch) > 1 && !errors.Is(err, store.ErrUnavailable) {
		// Keep one bad request from failing the others: write each alone.
		// A store that is down would fail each alike.
		p.errs.Warn("batch write failed; retrying its requests one by one", "requests", len(batch), "spans", len(all), "err", err)
		for i, r := range batch {
			w.errs[i] = p.write(ctx, w, r.spans)
		}
	} else {
		for i := range batch {
			w.errs[i] = err
		}
	}
	if p.syncer != nil {
		p.syncs <- w
		return
	}
	p.complete(w, nil)
}

// write commits spans, durably unless a SyncWriter leaves that to Sync.
func (p *Pipeline) write(ctx context.Context, w *written, spans []span.Span) error {
	start := time.Now()
	var res store.WriteResult
	var err error
	if p.syncer != nil {
		res, err = p.syncer.CommitSpans(ctx, spans)
	} else {
		res, err = p.store.WriteSpans(ctx, spans)
	}
	p.Stats.CommitNanos.Add(int64(time.Since(start)))
	p.Stats.Batches.Add(1)
	if err != nil {
		return fmt.Errorf("store spans: %w", err)
	}
	w.results = append(w.results, res)
	return nil
}

// acknowledge makes written batches durable, one sync for all the batches
// written meanwhile, and answers their requests.
func (p *Pipeline) acknowledge() {
	for w := range p.syncs {
		ready := []*written{w}
	more:
		for {
			select {
			case w, ok := <-p.syncs:
				if !ok {
					break more
				}
				ready = append(ready, w)
			default:
				break more
			}
		}
		var err error
		if slices.ContainsFunc(ready, func(w *written) bool { return len(w.results) > 0 }) {
			if err = p.syncer.Sync(context.Background()); err != nil {
				err = fmt.Errorf("store spans: %w", err)
			}
		}
		for _, w := range ready {
			p.complete(w, err)
		}
	}
}

// complete answers a written batch's requests; syncErr fails those whose
// transaction committed but could not be made durable.
func (p *Pipeline) complete(w *written, syncErr error) {
	took := time.Since(w.start)
	for _, res := range w.results {
		if syncErr != nil {
			continue
		}
		p.Stats.SpansStored.Add(int64(res.Inserted))
		p.Stats.SpansDuplicate.Add(int64(res.Duplicates))
		if p.hooks.OnStored != nil {
			p.hooks.OnStored(took, &res)
		}
		if p.hooks.OnCommit != nil && len(res.Projects) > 0 {
			p.hooks.OnCommit(res.Projects)
		}
	}
	failed, spans := 0, 0
	var last error
	for i, r := range w.requests {
		if w.errs[i] == nil {
			w.errs[i] = syncErr
		}
		if err := w.errs[i]; err != nil {
			failed, spans, last = failed+1, spans+len(r.spans), err
			p.Stats.SpansFailed.Add(int64(len(r.spans)))
		}
	}
	// The health changes before the requests are answered, so that a client
	// told of a failure finds it in WriteHealth.
	switch {
	case failed == 0:
		if p.WriteHealth().Failing {
			p.writesSucceeded()
		}
	case failed < len(w.requests):
		// The store took the others: these failed on their own spans.
		p.errs.Error("write spans of some requests", "requests", failed, "spans", spans, "err", last)
		if p.WriteHealth().Failing {
			p.writesSucceeded()
		}
	default:
		p.errs.Error(writeFailed, "requests", failed, "spans", spans, "err", last)
		p.writesFailed(last)
	}
	for i, r := range w.requests {
		p.finish(r, w.errs[i])
	}
}

func (p *Pipeline) finish(r *request, err error) {
	p.mu.Lock()
	p.queuedSpans -= len(r.spans)
	p.queuedBytes -= r.bytes
	close(p.room)
	p.room = make(chan struct{})
	p.mu.Unlock()
	r.done <- err
}
