package web

import (
	"context"
	"errors"
	"math"

	"github.com/loupe-dev/loupe/internal/store"
)

// costPanelRows is how many rows each cost panel shows; the rest are counted.
const costPanelRows = 4

// costPanels are the project page's "Top models by cost" and "Cost by
// prompt version", read from the hourly usage roll-ups: a few rows per
// hour in range, whatever the number of spans.
type costPanels struct {
	Models, Versions         []usageRow
	MoreModels, MoreVersions int
	// Unpriced counts the LLM spans in range whose model has no price.
	Unpriced int64
}

// usageRow is one model or prompt version of a cost panel.
type usageRow struct {
	store.Usage
	Pct float64 // cost against the panel's largest, for the bar
	URL string  // the spans of this model or version
}

// Empty reports whether there is no LLM usage to show.
func (c *costPanels) Empty() bool { return c == nil || len(c.Models) == 0 && len(c.Versions) == 0 }

// costPanels reads the usage of the project over the page's range; nil
// when the store keeps no usage.
func (h *Handler) costPanels(ctx context.Context, page *projectPage, withVersions bool) (*costPanels, error) {
	if h.caps.coster == nil {
		return nil, nil
	}
	start, end := page.Range.StartNs(), page.Range.EndNs()
	if end == 0 {
		end = math.MaxInt64 // the roll-ups take a closed range
	}
	models, err := h.caps.coster.Usage(ctx, page.P.ID, store.ByModel, start, end)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &costPanels{}
	for _, u := range models {
		c.Unpriced += u.Unpriced
	}
	c.Models, c.MoreModels = usageRows(page, models, "llm.model_name")
	if withVersions {
		versions, err := h.caps.coster.Usage(ctx, page.P.ID, store.ByPromptVersion, start, end)
		if err != nil {
			return nil, err
		}
		c.Versions, c.MoreVersions = usageRows(page, versions, "llm.prompt_template.version")
	}
	return c, nil
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
