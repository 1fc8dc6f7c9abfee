package web

import (
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/usd"
)

// pricesURL is the page listing model prices, where a missing one is added.
const pricesURL = "/prices"

// costBreakdown is what an LLM span cost, token type by token type, and
// which price said so; or, for a model without a price, that it is unknown.
type costBreakdown struct {
	NoPrice bool
	Model   string
	Total   float64
	Source  string // computed, client or mixed
	Entry   string // the price entry used
	Rows    []costRow
	// Wrapper is set when the span wraps model calls counted below it
	// (package rollup), which CountedIn names when they were read.
	Wrapper   bool
	CountedIn []countedCall
}

// countedCall is a model call a wrapper's usage is counted in.
type countedCall struct {
	Name, Model string
	Child       bool   // the wrapper's child, not a span further below
	URL         string // the trace page with the call selected
}

// costRow is one token type of a cost breakdown.
type costRow struct {
	Type   string
	Prompt bool
	Tokens int64
	Cost   float64
	Rate   float64 // USD per token
}

// newCostBreakdown reads a span's cost; nil when the span has none to show.
func newCostBreakdown(v span.View) *costBreakdown {
	switch v.Cost.Status {
	case span.CostNoPrice:
		return &costBreakdown{NoPrice: true, Model: v.ModelName}
	case span.CostPriced:
	default:
		return nil
	}
	b := &costBreakdown{Model: v.ModelName, Total: v.Cost.Total, Source: v.Cost.Source, Entry: v.Cost.Entry}
	var details map[string]struct {
		Tokens int64   `json:"tokens"`
		Cost   float64 `json:"cost"`
		Rate   float64 `json:"rate"`
	}
	if v.Cost.Details != "" {
		// A breakdown that does not read leaves the total, which is still
		// right: the details are an explanation of it.
		_ = json.Unmarshal([]byte(v.Cost.Details), &details)
	}
	for name, d := range details {
		row := costRow{Type: name, Tokens: d.Tokens, Cost: d.Cost, Rate: d.Rate}
		if tt, ok := pricing.ParseTokenType(name); ok {
			row.Prompt = tt.IsPrompt()
		}
		b.Rows = append(b.Rows, row)
	}
	slices.SortFunc(b.Rows, func(x, y costRow) int {
		return tokenTypeOrder(x.Type) - tokenTypeOrder(y.Type)
	})
	return b
}

// tokenTypeOrder puts the prompt-side types first, as the price table does.
func tokenTypeOrder(name string) int {
	if tt, ok := pricing.ParseTokenType(name); ok {
		return int(tt)
	}
	return pricing.NumTokenTypes
}

// PricesURL links to the prices page, at this model.
func (b *costBreakdown) PricesURL() string {
	if b.Model == "" {
		return pricesURL
	}
	return pricesURL + "?model=" + url.QueryEscape(b.Model)
}

// SourceTitle explains the source in a tooltip.
func (b *costBreakdown) SourceTitle() string {
	switch b.Source {
	case "computed":
		return "computed by this server from the token counts and the price table"
	case "client":
		return "sent by the application in llm.cost.* attributes"
	case "mixed":
		return "partly sent by the application, the rest computed from the price table"
	}
	return ""
}

// Label is the token type in words.
func (r costRow) Label() string { return strings.ReplaceAll(r.Type, "_", " ") }

// RateText is the rate per million tokens, as price lists write it.
func (r costRow) RateText() string {
	if r.Rate <= 0 {
		return ""
	}
	perM := math.Round(r.Rate*1e6*1e4) / 1e4
	return "$" + strconv.FormatFloat(perM, 'f', -1, 64) + " / 1M"
}

// CostText is the row's cost.
func (r costRow) CostText() string { return usd.Format(r.Cost) }
