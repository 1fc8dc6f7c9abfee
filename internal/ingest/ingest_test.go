package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// fakeWriter records batches; it blocks while gate is held and fails any
// batch holding a span named "poison".
type fakeWriter struct {
	mu      sync.Mutex
	batches [][]span.Span
	gate    sync.Mutex
}

func (w *fakeWriter) CheckWritable(context.Context) error { return nil }

func (w *fakeWriter) WriteSpans(_ context.Context, spans []span.Span) (store.WriteResult, error) {
	w.gate.Lock()
	defer w.gate.Unlock()
	for _, s := range spans {
		if s.Name == "poison" {
			return store.WriteResult{}, errors.New("constraint failed")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, append([]span.Span(nil), spans...))
	return store.WriteResult{Inserted: len(spans), Projects: []int64{1}}, nil
}

func (w *fakeWriter) stored() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.batches {
		n += len(b)
	}
	return n
}

func spans(n int, name string) []span.Span {
	out := make([]span.Span, n)
	for i := range out {
		out[i] = span.Span{SpanID: fmt.Sprintf("%s-%d", name, i), Name: name}
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t *testing.T, cfg Config, w Store) (*Pipeline, func()) {
	p := New(cfg, w, quiet, Hooks{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return p, func() { cancel(); <-done }
}

// waitQueued waits until n spans are queued or in flight.
func waitQueued(t *testing.T, p *Pipeline, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.QueueDepth() < n {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d, want %d", p.QueueDepth(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommit(t *testing.T) {
	w := &fakeWriter{}
	p, stop := start(t, Config{MaxBatchSpans: 1000}, w)
	defer stop()

	// Hold the writer on a first request so the next ones queue up and
	// share one transaction.
	w.gate.Lock()
	first := make(chan error, 1)
	go func() { first <- p.Submit(context.Background(), spans(1, "first")) }()
	waitQueued(t, p, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- p.Submit(context.Background(), spans(5, fmt.Sprint("r", i)))
		}(i)
	}
	waitQueued(t, p, 51)
	w.gate.Unlock()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if len(w.batches) != 2 || len(w.batches[1]) != 50 {
		sizes := []int{}
		for _, b := range w.batches {
			sizes = append(sizes, len(b))
		}
		t.Errorf("batch sizes = %v, want [1 50]: the waiting requests share one commit", sizes)
	}
	if p.QueueDepth() != 0 {
		t.Errorf("queue depth after commit = %d", p.QueueDepth())
	}
}

func TestSubmitReturnsAfterCommit(t *testing.T) {
	w := &fakeWriter{}
	p, stop := start(t, Config{}, w)
	defer stop()
	if err := p.Submit(context.Background(), spans(3, "a")); err != nil {
		t.Fatal(err)
	}
	if w.stored() != 3 {
		t.Errorf("Submit returned before its spans were stored (%d stored)", w.stored())
	}
}

// TestOverloadWaitsThenRefuses fills the queue: a request that does not
// fit waits for room, and is refused once its hold passes; one with a
// deadline waits, and is taken when room comes.
func TestOverloadWaitsThenRefuses(t *testing.T) {
	one := spans(1, "x")[0].Footprint()
	w := &fakeWriter{}
	// Room for 10 spans, or for 9.5 spans' memory.
	p, stop := start(t, Config{MaxQueueSpans: 10, MaxQueueBytes: int64(one*19) / 2, Hold: 20 * time.Millisecond}, w)
	defer stop()
	w.gate.Lock()
	go p.Submit(context.Background(), spans(8, "x"))
	waitQueued(t, p, 8)
	if err := p.Submit(context.Background(), spans(3, "x")); !errors.Is(err, ErrOverloaded) {
		t.Errorf("Submit over the span bound = %v, want ErrOverloaded", err)
	}
	if err := p.Submit(context.Background(), spans(2, "x")); !errors.Is(err, ErrOverloaded) {
		t.Errorf("Submit over the memory bound = %v, want ErrOverloaded", err)
	}
	go p.Submit(context.Background(), spans(1, "x"))
	waitQueued(t, p, 9)
	if err := p.Submit(context.Background(), spans(1, "x")); !errors.Is(err, ErrOverloaded) {
		t.Errorf("Submit over the memory bound = %v, want ErrOverloaded", err)
	}
	if got := p.Stats.RequestsRefused.Load(); got != 3 {
		t.Errorf("refused = %d, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting := make(chan error, 1)
	go func() { waiting <- p.Submit(ctx, spans(5, "patient")) }()
	w.gate.Unlock()
	if err := <-waiting; err != nil {
		t.Errorf("request with a deadline, once room came = %v, want taken", err)
	}
	// Once drained, a request larger than the whole queue is still taken.
	waitFor(t, func() bool { return p.QueueDepth() == 0 })
	if err := p.Submit(context.Background(), spans(20, "huge")); err != nil {
		t.Errorf("oversized request on an empty queue = %v, want accepted", err)
	}
}

// TestAwaitRoom is the wait receivers make before they decode a request.
func TestAwaitRoom(t *testing.T) {
	w := &fakeWriter{}
	p, stop := start(t, Config{MaxQueueSpans: 4, Hold: 20 * time.Millisecond}, w)
	w.gate.Lock()
	go p.Submit(context.Background(), spans(4, "x"))
	waitQueued(t, p, 4)
	if err := p.Admit(); err != nil {
		t.Errorf("Admit on a full queue = %v, want nil: requests wait for room", err)
	}
	if err := p.AwaitRoom(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Errorf("AwaitRoom on a full queue, past the hold = %v, want ErrOverloaded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting := make(chan error, 1)
	go func() { waiting <- p.AwaitRoom(ctx) }()
	w.gate.Unlock()
	if err := <-waiting; err != nil {
		t.Errorf("AwaitRoom with a deadline, once the queue drained = %v, want nil", err)
	}
	stop()
	if err := p.Admit(); !errors.Is(err, ErrStopped) {
		t.Errorf("Admit once stopped = %v, want ErrStopped", err)
	}
}

func TestPoisonRequestFailsAlone(t *testing.T) {
	w := &fakeWriter{}
	p, stop := start(t, Config{}, w)
	defer stop()
	w.gate.Lock()
	go p.Submit(context.Background(), spans(1, "hold"))
	waitQueued(t, p, 1)
	good, bad := make(chan error, 1), make(chan error, 1)
	go func() { good <- p.Submit(context.Background(), spans(2, "good")) }()
	go func() { bad <- p.Submit(context.Background(), spans(1, "poison")) }()
	waitQueued(t, p, 4)
	w.gate.Unlock()
	if err := <-good; err != nil {
		t.Errorf("good request sharing a batch with a bad one failed: %v", err)
	}
	if err := <-bad; err == nil {
		t.Error("bad request succeeded")
	}
}

func TestShutdownDrainsAcceptedWork(t *testing.T) {
	w := &fakeWriter{}
	p, stop := start(t, Config{}, w)
	w.gate.Lock()
	results := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func(i int) { results <- p.Submit(context.Background(), spans(2, fmt.Sprint("s", i))) }(i)
	}
	waitQueued(t, p, 10)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	w.gate.Unlock()
	<-stopped
	for i := 0; i < 5; i++ {
		if err := <-results; err != nil {
			t.Errorf("accepted request failed on shutdown: %v", err)
		}
	}
	if w.stored() != 10 {
		t.Errorf("stored %d spans, want all 10 accepted before shutdown", w.stored())
	}
	if err := p.Submit(context.Background(), spans(1, "late")); !errors.Is(err, ErrStopped) {
		t.Errorf("Submit after shutdown = %v, want ErrStopped", err)
	}
}

// syncWriter commits at once and makes commits durable only in Sync, which
// blocks while syncGate is held; failSync makes Sync fail.
type syncWriter struct {
	fakeWriter
	syncGate  sync.Mutex
	mu        sync.Mutex
	committed int // spans committed
	durable   int // spans committed before the last successful Sync
	syncs     int
	failSync  bool
}

func (w *syncWriter) CommitSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	res, err := w.fakeWriter.WriteSpans(ctx, spans)
	if err == nil {
		w.mu.Lock()
		w.committed += len(spans)
		w.mu.Unlock()
	}
	return res, err
}

func (w *syncWriter) Sync(context.Context) error {
	w.mu.Lock()
	upTo := w.committed
	w.mu.Unlock()
	w.syncGate.Lock()
	defer w.syncGate.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	if w.failSync {
		return errors.New("disk full")
	}
	w.durable = upTo
	return nil
}

func (w *syncWriter) counts() (committed, durable int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.committed, w.durable
}

func TestSubmitReturnsAfterSync(t *testing.T) {
	w := &syncWriter{}
	p, stop := start(t, Config{}, w)
	defer stop()

	// While the first batch waits for the disk, the next is committed.
	w.syncGate.Lock()
	first := make(chan error, 1)
	go func() { first <- p.Submit(context.Background(), spans(3, "a")) }()
	second := make(chan error, 1)
	waitFor(t, func() bool { c, _ := w.counts(); return c == 3 })
	go func() { second <- p.Submit(context.Background(), spans(2, "b")) }()
	waitFor(t, func() bool { c, _ := w.counts(); return c == 5 })
	select {
	case err := <-first:
		t.Fatalf("Submit returned (%v) before its spans were durable", err)
	default:
	}
	w.syncGate.Unlock()
	for _, done := range []chan error{first, second} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, durable := w.counts(); durable != 5 {
		t.Errorf("durable spans when both requests returned = %d, want 5", durable)
	}
	if got := p.Stats.SpansStored.Load(); got != 5 {
		t.Errorf("stored spans counted = %d, want 5", got)
	}
}

func TestFailedSyncFailsRequests(t *testing.T) {
	w := &syncWriter{failSync: true}
	p, stop := start(t, Config{}, w)
	defer stop()
	if err := p.Submit(context.Background(), spans(3, "a")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Submit whose spans could not be made durable = %v, want the sync's error", err)
	}
	if got := p.Stats.SpansFailed.Load(); got != 3 {
		t.Errorf("failed spans = %d, want 3", got)
	}
	if p.QueueDepth() != 0 {
		t.Errorf("queue depth after a failed sync = %d, want 0", p.QueueDepth())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// downWriter is a store that can be taken down: its writes and checks then
// fail as store.ErrUnavailable.
type downWriter struct {
	fakeWriter
	state  sync.Mutex
	down   bool
	writes int
	checks int
}

func (w *downWriter) set(down bool) {
	w.state.Lock()
	defer w.state.Unlock()
	w.down = down
}

func (w *downWriter) counts() (writes, checks int) {
	w.state.Lock()
	defer w.state.Unlock()
	return w.writes, w.checks
}

func (w *downWriter) WriteSpans(ctx context.Context, spans []span.Span) (store.WriteResult, error) {
	w.gate.Lock()
	w.gate.Unlock()
	w.state.Lock()
	w.writes++
	down := w.down
	w.state.Unlock()
	if down {
		return store.WriteResult{}, store.Unavailable(errors.New("dial tcp 10.0.0.7:5432: connect: connection refused"))
	}
	return w.fakeWriter.WriteSpans(ctx, spans)
}

func (w *downWriter) CheckWritable(context.Context) error {
	w.state.Lock()
	defer w.state.Unlock()
	w.checks++
	if w.down {
		return store.Unavailable(errors.New("dial tcp 10.0.0.7:5432: connect: connection refused"))
	}
	return nil
}

// TestStoreDownRidesOut sends requests to a store that is down: a request
// with a deadline waits for its spans, one without is told after the hold
// to send them again, and once the store is back every span is written,
// once, the second request's too.
func TestStoreDownRidesOut(t *testing.T) {
	w := &downWriter{}
	w.set(true)
	p, stop := start(t, Config{Hold: 20 * time.Millisecond}, w)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting := make(chan error, 1)
	go func() { waiting <- p.Submit(ctx, spans(2, "with deadline")) }()
	waitQueued(t, p, 2)
	if err := p.Submit(context.Background(), spans(3, "without")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("request without a deadline to a store that is down = %v, want ErrUnavailable", err)
	}
	if n := p.QueueDepth(); n != 5 {
		t.Errorf("queue holds %d spans after the request was answered, want 5: its spans stay", n)
	}
	h := p.WriteHealth()
	if !h.Failing || !h.Unavailable() || h.Since.IsZero() {
		t.Errorf("WriteHealth with the store down = %+v, want failing, unavailable, since set", h)
	}
	waitFor(t, func() bool { writes, _ := w.counts(); return writes >= 3 })
	w.set(false)
	if err := <-waiting; err != nil {
		t.Errorf("request with a deadline, once the store is back = %v", err)
	}
	waitFor(t, func() bool { return p.QueueDepth() == 0 })
	if n := w.stored(); n != 5 {
		t.Errorf("stored %d spans, want 5", n)
	}
	if p.WriteHealth().Failing {
		t.Error("writes still failing after a batch was stored")
	}
}

// TestStopGivesUpAHeldBatch stops the server while the store is down: the
// writer stops retrying, and the request is told to send its spans again.
func TestStopGivesUpAHeldBatch(t *testing.T) {
	w := &downWriter{}
	w.set(true)
	p, stop := start(t, Config{}, w)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting := make(chan error, 1)
	go func() { waiting <- p.Submit(ctx, spans(2, "a")) }()
	waitFor(t, func() bool { writes, _ := w.counts(); return writes >= 2 })
	stop()
	if err := <-waiting; !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("request held when the server stopped = %v, want ErrUnavailable", err)
	}
}

// TestWritesRecoverWithABatch takes the store down and up again under
// traffic: the health follows the batches.
func TestWritesRecoverWithABatch(t *testing.T) {
	w := &downWriter{}
	p, stop := start(t, Config{CheckInterval: time.Hour, Hold: time.Millisecond}, w)
	defer stop()
	w.set(true)
	if err := p.Submit(context.Background(), spans(1, "a")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Submit to a store that is down = %v", err)
	}
	if !p.WriteHealth().Failing {
		t.Fatal("health after a failed batch: not failing")
	}
	w.set(false)
	// With a deadline, it waits for the writer's next attempt.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Submit(ctx, spans(1, "b")); err != nil {
		t.Fatalf("Submit once the store is back = %v", err)
	}
	if h := p.WriteHealth(); h.Failing {
		t.Errorf("health after a batch was stored = %+v, want not failing", h)
	}
	if _, checks := w.counts(); checks != 0 {
		t.Errorf("%d checks of the store while batches told, want 0", checks)
	}
	if n := w.stored(); n != 2 {
		t.Errorf("stored %d spans, want both requests' 2", n)
	}
}

// TestCheckNoticesRecoveryWhileIdle fails a batch on its own spans, so
// that the writer has nothing to write, then fails the store's checks
// until it is back: the checks notice, with no traffic.
func TestCheckNoticesRecoveryWhileIdle(t *testing.T) {
	w := &downWriter{}
	p, stop := start(t, Config{CheckInterval: time.Millisecond}, w)
	defer stop()
	if err := p.Submit(context.Background(), spans(1, "poison")); err == nil {
		t.Fatal("a poison span was stored")
	}
	w.set(true)
	waitFor(t, func() bool { _, checks := w.counts(); return checks >= 2 })
	if !p.WriteHealth().Failing {
		t.Fatal("a failing check called the store back")
	}
	w.set(false)
	waitFor(t, func() bool { return !p.WriteHealth().Failing })
}

// TestStartsReadOnly checks the store before the pipeline runs, as the
// server does at start, on a store that takes no writes: the health says
// so from the start, and the checks notice when writes work again.
func TestStartsReadOnly(t *testing.T) {
	w := &downWriter{}
	w.set(true)
	p := New(Config{CheckInterval: time.Millisecond}, w, quiet, Hooks{}, nil)
	if err := p.CheckWritable(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CheckWritable of a store that is down = %v", err)
	}
	if !p.WriteHealth().Unavailable() {
		t.Fatalf("health before running = %+v, want unavailable", p.WriteHealth())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	w.set(false)
	waitFor(t, func() bool { return !p.WriteHealth().Failing })
}

// TestFailuresLoggedOncePerInterval has the writer fail at a batch again
// and again within the log's interval, then store it: two lines, the first
// failure in full and the recovery with the count.
func TestFailuresLoggedOncePerInterval(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	w := &downWriter{}
	p := New(Config{CheckInterval: time.Hour, Hold: time.Millisecond}, w, log, Hooks{}, nil)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	p.errs.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	w.set(true)
	p.Submit(context.Background(), spans(3, "a"))
	waitFor(t, func() bool { writes, _ := w.counts(); return writes >= 4 })
	clock.Lock()
	now = now.Add(5 * time.Second)
	clock.Unlock()
	w.set(false)
	waitFor(t, func() bool { return p.QueueDepth() == 0 })
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 ||
		lines[0] != `level=ERROR msg="write spans" requests=1 spans=3 err="store spans: storage unavailable: dial tcp 10.0.0.7:5432: connect: connection refused" retry=true` ||
		!regexp.MustCompile(`^level=INFO msg="write spans: recovered after 5s; \d+ failed meanwhile"$`).MatchString(lines[1]) {
		t.Errorf("logged:\n%s\nwant the first failure and the recovery", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
