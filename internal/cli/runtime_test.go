package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneRuntime(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name      string
		limit     int64
		env       map[string]string
		wantLimit int64
		wantGC    int
	}{
		{"limit from the flag", 192 * mib, nil, 192 * mib, gcPercentUnderLimit},
		{"GOGC wins", 192 * mib, map[string]string{"GOGC": "100"}, 192 * mib, 100},
		{"no limit keeps the default pace", 0, nil, math.MaxInt64, 100},
		// The runtime read GOMEMLIMIT at start; the flag must not override it.
		{"GOMEMLIMIT wins", 192 * mib, map[string]string{"GOMEMLIMIT": "1GiB"}, math.MaxInt64, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit, gc := debug.SetMemoryLimit(math.MaxInt64), debug.SetGCPercent(100)
			defer func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(gc) }()

			tuneRuntime(c.limit, func(k string) string { return c.env[k] })
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("memory limit %d, want %d", got, c.wantLimit)
			}
			if got := debug.SetGCPercent(100); got != c.wantGC {
				t.Errorf("GC percent %d, want %d", got, c.wantGC)
			}
		})
	}
}
