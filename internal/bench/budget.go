package bench

import "sync/atomic"

// budget is the number of traces left to send over all apps.
type budget struct {
	unlimited bool
	left      atomic.Int64
}

func newBudget(traces int64) *budget {
	b := &budget{unlimited: traces == 0}
	b.left.Store(traces)
	return b
}

// take reports whether one more trace may be sent.
func (b *budget) take() bool {
	return b.unlimited || b.left.Add(-1) >= 0
}
