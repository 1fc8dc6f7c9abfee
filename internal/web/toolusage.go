package web

import (
	"context"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// liveHeader marks the requests live.js makes to refresh a page in place.
const liveHeader = "X-Loupe-Live"

// toolUsageReuse is how long a live refresh of the Traces tab reuses the
// "cost by tool" panel's reading. The panel walks up to
// store.ToolUsageSample tool calls and what they called, 0.5-0.7 s of a core
// over 300,000 agent spans, and an open page refreshes about once a second
// while spans arrive, which took a fifth of ingest's throughput on two cores
// (BENCHMARKS.md). Loading or reloading the page always reads afresh.
const toolUsageReuse = 30 * time.Second

// toolUsageMax bounds the readings kept: one per project and time range in
// view.
const toolUsageMax = 64

type toolUsageKey struct{ project, start, end int64 }

type toolUsageReading struct {
	at      time.Time
	tools   []store.ToolUsage
	sampled bool
}

// toolUsageCache keeps the last reading of each project and range.
type toolUsageCache struct {
	mu       sync.Mutex
	readings map[toolUsageKey]toolUsageReading
}

// usageByTool reads the project's usage by tool, or, for a live refresh,
// reuses a reading younger than toolUsageReuse.
func (h *Handler) usageByTool(ctx context.Context, page *projectPage, start, end int64) ([]store.ToolUsage, bool, error) {
	key := toolUsageKey{page.P.ID, start, end}
	c := &h.toolUsage
	now := h.now()
	if page.live {
		c.mu.Lock()
		r, ok := c.readings[key]
		c.mu.Unlock()
		if ok && now.Sub(r.at) < toolUsageReuse {
			return r.tools, r.sampled, nil
		}
	}
	tools, sampled, err := h.caps.coster.UsageByTool(ctx, page.P.ID, start, end)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readings == nil || len(c.readings) >= toolUsageMax {
		c.readings = make(map[toolUsageKey]toolUsageReading)
	}
	c.readings[key] = toolUsageReading{now, tools, sampled}
	return tools, sampled, nil
}
