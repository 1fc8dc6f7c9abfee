package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// reportProgress writes a line to w every interval until ctx ends: the
// spans acknowledged and the requests refused since the line before, and
// the server's memory when it is watched. The summary gives one figure for
// the whole run; these show how the server's pace changes as its database
// grows, or when it starts refusing.
func reportProgress(ctx context.Context, w io.Writer, every time.Duration, st *stats, rss *rssSampler) {
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	last, lastAcked, lastRefused := start, int64(0), int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			acked, refused := st.spansAcked.Load(), st.callsRefused.Load()
			rate := float64(acked-lastAcked) / now.Sub(last).Seconds()
			line := fmt.Sprintf("%8s  %9s spans/s  %6s refused requests", now.Sub(start).Round(min(every, time.Second)),
				count(int64(rate)), count(refused-lastRefused))
			if rss != nil {
				line += fmt.Sprintf("  server RSS %.1f MiB", float64(rss.last.Load())/(1<<20))
			}
			fmt.Fprintln(w, line)
			last, lastAcked, lastRefused = now, acked, refused
		}
	}
}
