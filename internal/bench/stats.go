package bench

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stats are shared by every app of a run.
type stats struct {
	traces       atomic.Int64
	spansSent    atomic.Int64 // spans recorded by the apps
	spansAcked   atomic.Int64
	spansRefused atomic.Int64 // spans of refused requests, counted per refusal
	calls        atomic.Int64 // export requests, resends included
	callsRefused atomic.Int64
	callsFailed  atomic.Int64
	bytesSent    atomic.Int64
	bytesAcked   atomic.Int64

	mu       sync.Mutex
	acks     []time.Duration // latency of each acknowledged request
	firstErr string
}

func (s *stats) ack(d time.Duration) {
	s.mu.Lock()
	s.acks = append(s.acks, d)
	s.mu.Unlock()
}

func (s *stats) fail(err error) {
	s.mu.Lock()
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
	s.mu.Unlock()
}

// latencies returns the p50, p99 and maximum acknowledgement latency.
func (s *stats) latencies() (p50, p99, maxLat time.Duration) {
	s.mu.Lock()
	acks := slices.Clone(s.acks)
	s.mu.Unlock()
	if len(acks) == 0 {
		return 0, 0, 0
	}
	slices.Sort(acks)
	return percentile(acks, 0.50), percentile(acks, 0.99), acks[len(acks)-1]
}

// percentile reads the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
