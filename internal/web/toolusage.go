package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// liveHeader marks the requests live.js makes to refresh a page in place.
const liveHeader = "X-Loupe-Live"

// The "cost by tool" panel walks up to store.ToolUsageSample tool calls and
// what they called: 0.5-0.7 s of a core over 300,000 agent spans, where the
// rest of the Traces tab takes tens of milliseconds. Loading the page
// therefore leaves a placeholder that fetches the panel from toolCosts,
// which always reads afresh. An open page refreshes about once a second
// while spans arrive, which took a fifth of ingest's throughput on two
// cores (BENCHMARKS.md): a live refresh draws the panel in place, reusing a
// reading for toolUsageReuse.
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

// usageByTool reads the project's usage by tool, or, with reuse, returns a
// reading younger than toolUsageReuse.
func (h *Handler) usageByTool(ctx context.Context, projectID, start, end int64, reuse bool) ([]store.ToolUsage, bool, error) {
	key := toolUsageKey{projectID, start, end}
	c := &h.toolUsage
	now := h.now()
	if reuse {
		c.mu.Lock()
		r, ok := c.readings[key]
		c.mu.Unlock()
		if ok && now.Sub(r.at) < toolUsageReuse {
			return r.tools, r.sampled, nil
		}
	}
	// The panel shows the tools that called a model. When no tool call in
	// range did, which an index answers in a millisecond, there is none
	// to show, and the walk below the sample is skipped.
	found, err := h.store.ToolCallsWithModels(ctx, projectID, start, end)
	if err != nil {
		return nil, false, err
	}
	var tools []store.ToolUsage
	var sampled bool
	if found {
		if tools, sampled, err = h.store.UsageByTool(ctx, projectID, start, end); err != nil {
			return nil, false, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readings == nil || len(c.readings) >= toolUsageMax {
		c.readings = make(map[toolUsageKey]toolUsageReading)
	}
	c.readings[key] = toolUsageReading{now, tools, sampled}
	return tools, sampled, nil
}

// toolCosts answers the placeholder of the Traces tab's "cost by tool"
// panel with the panel, over the time range of its query; an empty answer
// when no tool called an LLM.
func (h *Handler) toolCosts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	p, err := h.store.ProjectByName(ctx, name)
	if err != nil {
		h.fail(w, r, err, notFound{What: "Project", ID: name})
		return
	}
	start, end := usageRange(parseTimeRange(r.URL.Query(), h.now()))
	tools, sampled, err := h.usageByTool(ctx, p.ID, start, end, false)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	c := &costPanels{}
	c.setTools(pageURL{Path: projectURL(p.Name), Query: r.URL.Query()}, p.Name, tools, sampled)
	h.renderFragment(w, r, "tool_panel", c)
}
