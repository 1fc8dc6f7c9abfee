package api

import (
	"math"
	"net/http"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/usd"
)

// usageJSON is one group of GET /v1/projects/{project_identifier}/usage.
type usageJSON struct {
	Key              string  `json:"key"`
	LLMSpans         int64   `json:"llm_spans"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	CacheReadTokens  int64   `json:"cache_read_tokens"`
	ReasoningTokens  int64   `json:"reasoning_tokens"`
	Cost             float64 `json:"cost"`
	Unpriced         int64   `json:"unpriced_spans"`
	// Only by tool: the calls, not their LLM spans, have a count and latency.
	Calls        *int64   `json:"calls,omitempty"`
	LatencyP50Ms *float64 `json:"latency_p50_ms,omitempty"`
}

func toUsageJSON(u store.Usage) usageJSON {
	return usageJSON{Key: u.Key, LLMSpans: u.LLMSpans, PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.TotalTokens, CacheReadTokens: u.CacheReadTokens, ReasoningTokens: u.ReasoningTokens,
		Cost: usd.Round(u.Cost), Unpriced: u.Unpriced}
}

// usageResponse is a project's usage by one dimension. Sampled tells that
// only the newest store.ToolUsageSample tool calls were read.
type usageResponse struct {
	Data    []usageJSON `json:"data"`
	Sampled bool        `json:"sampled"`
}

// projectUsage answers GET /v1/projects/{project_identifier}/usage: the
// tokens and cost of the project's model calls, each counted once (package
// rollup), in [start_time, end_time), by model (the default), user,
// prompt_version or tool, most expensive first. The first three come from hourly roll-ups, so their bounds round
// to hours; by tool reads the tool calls that started in range.
func (a *API) projectUsage(r *http.Request) (any, error) {
	q := r.URL.Query()
	dim := store.UsageDimension(q.Get("by"))
	switch dim {
	case "":
		dim = store.ByModel
	case store.ByModel, store.ByUser, store.ByPromptVersion, store.ByTool:
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "by must be one of model, user, prompt_version or tool, got %q", dim)
	}
	start, err := timeParam(q, "start_time")
	if err != nil {
		return nil, err
	}
	end, err := timeParam(q, "end_time")
	if err != nil {
		return nil, err
	}
	if end == 0 {
		end = math.MaxInt64
	}
	if end <= start {
		return nil, errorf(http.StatusUnprocessableEntity, "end_time must be after start_time")
	}
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	out := usageResponse{Data: []usageJSON{}}
	if dim != store.ByTool {
		us, err := a.Store.Usage(r.Context(), p.ID, dim, start, end)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out.Data = append(out.Data, toUsageJSON(u))
		}
		return out, nil
	}
	tools, sampled, err := a.Store.UsageByTool(r.Context(), p.ID, start, end)
	if err != nil {
		return nil, err
	}
	for _, t := range tools {
		j := toUsageJSON(t.Usage)
		calls, p50 := t.Calls, float64(t.LatencyP50)/1e6
		j.Calls, j.LatencyP50Ms = &calls, &p50
		out.Data = append(out.Data, j)
	}
	out.Sampled = sampled
	return out, nil
}
