package bench

import (
	"context"
	"sync"
	"time"
)

// pacer spaces spans evenly at a target rate across all apps: a token
// bucket without burst, so that a latency measured at half the maximum rate
// is not the latency of bursts at the maximum rate.
type pacer struct {
	perSpan time.Duration
	mu      sync.Mutex
	next    time.Time // when the next span is due
}

func newPacer(spansPerSecond float64) *pacer {
	return &pacer{perSpan: time.Duration(float64(time.Second) / spansPerSecond)}
}

// wait blocks until n more spans may be sent.
func (p *pacer) wait(ctx context.Context, n int) error {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(time.Duration(n) * p.perSpan)
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
