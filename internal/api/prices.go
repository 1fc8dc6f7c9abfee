package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/usd"
)

type modelPriceJSON struct {
	ModelName   string         `json:"model_name"`
	Provider    string         `json:"provider"`
	FirstSeen   string         `json:"first_seen"`
	LastSeen    string         `json:"last_seen"`
	SpanCount   int64          `json:"span_count"`
	TotalTokens int64          `json:"total_tokens"`
	TotalCost   float64        `json:"total_cost"`
	Unpriced    int64          `json:"unpriced_spans"`
	Price       *pricing.Entry `json:"price"` // null: no price for this model
}

func (a *API) listPrices(r *http.Request) (any, error) {
	t := a.Costs.Table()
	models, err := a.Store.Models(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]modelPriceJSON, 0, len(models))
	for _, m := range models {
		e, _ := t.Lookup(m.ModelName, m.Provider)
		out = append(out, modelPriceJSON{ModelName: m.ModelName, Provider: m.Provider,
			FirstSeen: isotime.Format(m.FirstSeen), LastSeen: isotime.Format(m.LastSeen), SpanCount: m.SpanCount,
			TotalTokens: m.TotalTokens, TotalCost: usd.Round(m.Cost), Unpriced: m.Unpriced, Price: e})
	}
	return single{Data: map[string]any{
		"unit":    pricing.Unit,
		"models":  out,
		"entries": t.Entries(),
	}}, nil
}

func (a *API) putPrices(r *http.Request) (any, error) {
	var body struct {
		Data struct {
			Entries []pricing.Entry `json:"entries"`
		} `json:"data"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	changed, err := a.Costs.SetAPIEntries(r.Context(), body.Data.Entries)
	switch {
	case errors.Is(err, costing.ErrInvalidPrices):
		return nil, errorf(http.StatusUnprocessableEntity, "%v", err)
	case err != nil:
		return nil, err
	}
	return single{Data: map[string]any{"entries": a.Costs.APIEntries(), "recomputing_models": nonNil(changed)}}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) recomputeStatus(r *http.Request) (any, error) {
	return single{Data: a.Costs.Status()}, nil
}

func (a *API) recomputeAll(r *http.Request) (any, error) {
	models, err := a.Store.Models(r.Context())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range models {
		names = append(names, m.ModelName)
	}
	if err := a.Costs.Recompute(names); err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "%v", err)
	}
	return accepted{map[string]any{"recomputing_models": nonNil(names), "queued_at": time.Now().UTC().Format(time.RFC3339)}}, nil
}
