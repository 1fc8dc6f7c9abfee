package web

import (
	"context"
	"math"

	"github.com/loupe-dev/loupe/internal/store"
)

// costPanelRows is how many rows each cost panel shows; the rest are counted.
const costPanelRows = 4

// costPanels are the project page's "Top models by cost" and "Cost by
// prompt version", read from the hourly usage roll-ups: a few rows per
// hour in range, whatever the number of spans; and "Cost by tool", read
// from the newest tool calls in range (store.ToolUsageSample at most).
type costPanels struct {
	Models, Versions         []usageRow
	MoreModels, MoreVersions int
	Tools                    []toolRow
	MoreTools                int
	ToolsSampled             bool
	// ToolsURL, when set, is where the page fetches the "cost by tool"
	// panel once it has loaded: reading it takes far longer than the rest
	// of the page (toolusage.go).
	ToolsURL string
	// Unpriced counts the LLM spans in range whose model has no price.
	Unpriced int64
}

// SampleSize is how many tool calls the tool panel reads at most.
func (*costPanels) SampleSize() int64 { return store.ToolUsageSample }

// toolRow is one tool of the "Cost by tool" panel.
type toolRow struct {
	store.ToolUsage
	Pct float64
	URL string // the calls of this tool
}

// usageRow is one model or prompt version of a cost panel.
type usageRow struct {
	store.Usage
	Pct float64 // cost against the panel's largest, for the bar
	URL string  // the spans of this model or version
}

// Empty reports whether there is no LLM usage to show.
func (c *costPanels) Empty() bool {
	return c == nil || len(c.Models) == 0 && len(c.Versions) == 0 && len(c.Tools) == 0 && c.ToolsURL == ""
}

// costPanels reads the usage of the project over the page's range. Only
// the Traces tab shows the panels, so the others (withDetail false) read
// just the models, to flag unpriced spans.
func (h *Handler) costPanels(ctx context.Context, page *projectPage, withDetail bool) (*costPanels, error) {
	start, end := usageRange(page.Range)
	models, err := h.store.Usage(ctx, page.P.ID, store.ByModel, start, end)
	if err != nil {
		return nil, err
	}
	c := &costPanels{}
	for _, u := range models {
		c.Unpriced += u.Unpriced
	}
	c.Models, c.MoreModels = usageRows(page, models, "llm.model_name")
	if withDetail {
		versions, err := h.store.Usage(ctx, page.P.ID, store.ByPromptVersion, start, end)
		if err != nil {
			return nil, err
		}
		c.Versions, c.MoreVersions = usageRows(page, versions, "llm.prompt_template.version")
		switch {
		case len(models) == 0: // no LLM spans, no tool calls of them to read
		case page.live:
			tools, sampled, err := h.usageByTool(ctx, page.P.ID, start, end, true)
			if err != nil {
				return nil, err
			}
			c.setTools(page.URL, page.P.Name, tools, sampled)
		default:
			c.ToolsURL = projectURL(page.P.Name) + "/tool-costs" + page.URL.RangeQuery()
		}
	}
	return c, nil
}

// usageRange is the time range as the usage readings take it: closed, so
// an open end is the end of time.
func usageRange(r timeRange) (start, end int64) {
	start, end = r.StartNs(), r.EndNs()
	if end == 0 {
		end = math.MaxInt64
	}
	return start, end
}

// setTools fills the "cost by tool" panel with the tools that called LLMs:
// the others cost nothing. Links keep the time range of u.
func (c *costPanels) setTools(u pageURL, project string, ts []store.ToolUsage, sampled bool) {
	c.ToolsSampled = sampled
	var withLLM []store.ToolUsage
	for _, t := range ts {
		if t.LLMSpans > 0 {
			withLLM = append(withLLM, t)
		}
	}
	c.MoreTools = max(len(withLLM)-costPanelRows, 0)
	withLLM = withLLM[:min(len(withLLM), costPanelRows)]
	top := 0.0
	for _, t := range withLLM {
		top = max(top, t.Cost)
	}
	rows := make([]toolRow, len(withLLM))
	for i, t := range withLLM {
		// The name is tool.name when the call has one, else the span name.
		expr := "span_kind == 'TOOL' and (tool.name == " + pyString(t.Key) + " or name == " + pyString(t.Key) + ")"
		rows[i] = toolRow{ToolUsage: t, URL: filterLink(u, projectURL(project)+"/spans", expr)}
		if top > 0 {
			rows[i].Pct = t.Cost / top * 100
		}
	}
	c.Tools = rows
}

func usageRows(page *projectPage, us []store.Usage, attr string) ([]usageRow, int) {
	more := max(len(us)-costPanelRows, 0)
	us = us[:min(len(us), costPanelRows)]
	top := 0.0
	for _, u := range us {
		top = max(top, u.Cost)
	}
	rows := make([]usageRow, len(us))
	for i, u := range us {
		rows[i] = usageRow{Usage: u, URL: filterLink(page.URL, projectURL(page.P.Name)+"/spans", attr+" == "+pyString(u.Key))}
		if top > 0 {
			rows[i].Pct = u.Cost / top * 100
		}
	}
	return rows, more
}
