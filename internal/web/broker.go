package web

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// maxSubscribers bounds the open live views of one server.
const maxSubscribers = 1000

var errTooManySubscribers = errors.New("too many live views open")

// change says that a project received spans; At is the project's
// last-update time in the database.
type change struct {
	Project string `json:"project"`
	At      int64  `json:"at"`
}

type subscriber struct {
	project string // "*" for every project
	ch      chan change
	// ready is closed once the poller has read the projects for the first
	// time: changes after that reach ch. Until then a write could become
	// part of the first reading and go unreported.
	ready <-chan struct{}
}

// projectLister reads the projects, whose update times tell the broker
// where spans arrived.
type projectLister interface {
	Projects(ctx context.Context, q store.ProjectQuery) ([]store.Project, error)
}

// broker fans out project changes to the open live views. One goroutine
// per server polls the projects table (small: one row per project) while
// anyone is watching, so spans written by another server sharing the
// database show up too; commits in this process wake it early.
type broker struct {
	store projectLister
	errs  ratelimited.Logger // a poll fails every second while the database is down
	every time.Duration
	limit int // most subscribers

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	stop   chan struct{} // closes the running poller; nil when none runs
	wakeCh chan struct{}
	seen   map[int64]int64 // project id → last update seen
	primed bool            // seen holds a first reading
	// firstPoll is closed by the running poller after its first reading.
	firstPoll chan struct{}
}

func newBroker(st projectLister, log *slog.Logger, every time.Duration, limit int) *broker {
	return &broker{store: st, errs: ratelimited.Logger{Log: log}, every: every, limit: limit,
		subs: map[*subscriber]struct{}{}, wakeCh: make(chan struct{}, 1)}
}

// subscribe registers a live view; the poller starts with the first one.
func (b *broker) subscribe(project string) (*subscriber, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) >= b.limit {
		return nil, errTooManySubscribers
	}
	// A few buffered changes are plenty: a view refreshes from the database,
	// so a dropped change is made good by the next one it receives.
	if b.stop == nil {
		b.stop = make(chan struct{})
		b.firstPoll = make(chan struct{})
		go b.run(b.stop, b.firstPoll)
	}
	s := &subscriber{project: project, ch: make(chan change, 4), ready: b.firstPoll}
	b.subs[s] = struct{}{}
	return s, nil
}

// unsubscribe removes a live view; the poller stops with the last one.
func (b *broker) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
	if len(b.subs) == 0 && b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
}

// wake asks for a poll now. It never blocks.
func (b *broker) wake() {
	select {
	case b.wakeCh <- struct{}{}:
	default:
	}
}

func (b *broker) run(stop, firstPoll chan struct{}) {
	t := time.NewTicker(b.every)
	defer t.Stop()
	b.poll()
	close(firstPoll)
	for {
		select {
		case <-stop:
			b.mu.Lock()
			if b.stop == nil { // no newer poller took over
				b.primed = false
			}
			b.mu.Unlock()
			return
		case <-t.C:
		case <-b.wakeCh:
		}
		b.poll()
	}
}

func (b *broker) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := b.store.Projects(ctx, store.ProjectQuery{})
	if err != nil {
		b.errs.Warn("live views: read projects", "err", err)
		return
	}
	b.errs.Recovered("live views: read projects")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil || !b.primed {
		b.seen = make(map[int64]int64, len(ps))
	}
	var changes []change
	for _, p := range ps {
		last, known := b.seen[p.ID]
		if b.primed && (!known || p.UpdatedAt > last) && p.LastSpanTime != 0 {
			changes = append(changes, change{Project: p.Name, At: p.UpdatedAt})
		}
		b.seen[p.ID] = p.UpdatedAt
	}
	b.primed = true
	for _, c := range changes {
		for s := range b.subs {
			if s.project != "*" && s.project != c.Project {
				continue
			}
			select {
			case s.ch <- c:
			default:
			}
		}
	}
}
