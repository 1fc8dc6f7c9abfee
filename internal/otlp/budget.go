package otlp

import (
	"container/list"
	"errors"
	"sync"
	"sync/atomic"
)

// errOverBudget refuses a request whose body would take the bodies held
// at once past the budget. It is answered as retryable.
var errOverBudget = errors.New("request bodies in flight are over budget")

// Budget bounds the memory that export requests hold before their spans
// reach the ingest queue (which bounds what it holds itself): bodies being
// received, decompressed, or waiting to be decoded, over both receivers.
// Without it, a few concurrent small compressed requests that each expand
// to the body limit take the server far past its memory limit.
type Budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	peak  int64 // the most used at once
	// holders are the reservations holding bytes, oldest first: the
	// oldest may always grow, so that requests racing for the last of the
	// budget cannot all be cut short and none finish.
	holders list.List

	refused atomic.Int64
}

// NewBudget allows limit bytes of bodies at once.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used is the bytes held now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// exhausted reports whether the budget is spent, so that a request can be
// refused before it is read at all.
func (b *Budget) exhausted() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used >= b.limit
}

// Refused counts the requests refused for want of budget.
func (b *Budget) Refused() int64 {
	if b == nil {
		return 0
	}
	return b.refused.Load()
}

// reservation is one request's share of a Budget. Its methods are safe to
// call from several goroutines, as a gRPC stream's end may release it while
// its handler still runs.
type reservation struct {
	b    *Budget
	mu   sync.Mutex
	held int64
	at   *list.Element // in b.holders while held > 0
}

// reserve takes n bytes for a new request, or reports errOverBudget. A
// nil Budget does not limit: it hands out nil reservations, on which every
// method works and nothing is counted.
func (b *Budget) reserve(n int64) (*reservation, error) {
	if b == nil {
		return nil, nil
	}
	r := &reservation{b: b}
	if !r.resize(n) {
		return nil, errOverBudget
	}
	return r, nil
}

// atLeast grows r to hold n bytes if it holds fewer, reporting false when
// the budget cannot hold them.
func (r *reservation) atLeast(n int64) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return n <= r.held || r.resizeLocked(n)
}

// resize makes r hold exactly n bytes, reporting false (and changing
// nothing) when growing does not fit.
func (r *reservation) resize(n int64) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resizeLocked(n)
}

// resizeLocked changes r's bytes to n. Growing fails when the budget
// cannot hold it, except for the oldest request: it goes on past the
// budget, so that a body bigger than the budget but within the size limit
// is still taken, and the budget is passed by one body at most.
func (r *reservation) resizeLocked(n int64) bool {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	oldest := r.at != nil && b.holders.Front() == r.at || b.holders.Len() == 0
	if n > r.held && b.used-r.held+n > b.limit && !oldest {
		b.refused.Add(1)
		return false
	}
	b.used += n - r.held
	b.peak = max(b.peak, b.used)
	r.held = n
	switch {
	case n > 0 && r.at == nil:
		r.at = b.holders.PushBack(r)
	case n == 0 && r.at != nil:
		b.holders.Remove(r.at)
		r.at = nil
	}
	return true
}

// release gives r's bytes back; later calls do nothing.
func (r *reservation) release() {
	if r != nil {
		r.resize(0)
	}
}
