package api

import (
	"net/http"

	"github.com/loupe-dev/loupe/internal/store"
)

type traceJSON struct {
	ID                   string     `json:"id"`
	TraceID              string     `json:"trace_id"`
	ProjectID            string     `json:"project_id"`
	StartTime            string     `json:"start_time"`
	EndTime              string     `json:"end_time"`
	LatencyMs            float64    `json:"latency_ms"`
	RootSpanID           *string    `json:"root_span_id"`
	Name                 string     `json:"name"`
	SpanKind             string     `json:"span_kind"`
	StatusCode           string     `json:"status_code"`
	SpanCount            int64      `json:"num_spans"`
	ErrorCount           int64      `json:"error_count"`
	LLMSpanCount         int64      `json:"llm_span_count"`
	TokenCountPrompt     int64      `json:"token_count_prompt"`
	TokenCountCompletion int64      `json:"token_count_completion"`
	TokenCountTotal      int64      `json:"token_count_total"`
	TokenCountCacheRead  int64      `json:"token_count_cache_read"`
	TokenCountCacheWrite int64      `json:"token_count_cache_write"`
	TokenCountReasoning  int64      `json:"token_count_reasoning"`
	TotalCost            float64    `json:"total_cost"`
	PromptCost           float64    `json:"prompt_cost"`
	CompletionCost       float64    `json:"completion_cost"`
	UnpricedSpans        int64      `json:"unpriced_spans"`
	SessionID            *string    `json:"session_id"`
	UserID               *string    `json:"user_id"`
	Input                string     `json:"input"`
	Output               string     `json:"output"`
	Spans                []spanJSON `json:"spans,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toTraceJSON(t store.Trace) (traceJSON, error) {
	status := t.RootStatus
	if t.ErrorCount > 0 {
		status = "ERROR"
	}
	out := traceJSON{
		ID: GlobalID("Trace", t.RowID), TraceID: t.TraceID, ProjectID: GlobalID("Project", t.ProjectID),
		StartTime: isoTime(t.StartTime), EndTime: isoTime(t.EndTime),
		LatencyMs:  roundMs(t.EndTime - t.StartTime),
		RootSpanID: optional(t.RootSpanID), Name: t.RootName, SpanKind: t.RootKind, StatusCode: status,
		SpanCount: t.SpanCount, ErrorCount: t.ErrorCount, LLMSpanCount: t.LLMSpanCount,
		TokenCountPrompt: t.Tokens.Prompt, TokenCountCompletion: t.Tokens.Completion, TokenCountTotal: t.Tokens.Total,
		TokenCountCacheRead: t.Tokens.CacheRead, TokenCountCacheWrite: t.Tokens.CacheWrite, TokenCountReasoning: t.Tokens.Reasoning,
		TotalCost: t.Cost.Total, PromptCost: t.Cost.Prompt, CompletionCost: t.Cost.Completion, UnpricedSpans: t.Cost.Unpriced,
		SessionID: optional(t.SessionID), UserID: optional(t.UserID), Input: t.InputPreview, Output: t.OutputPreview,
	}
	for _, s := range t.Spans {
		sj, err := toSpanJSON(s)
		if err != nil {
			return out, err
		}
		out.Spans = append(out.Spans, sj)
	}
	return out, nil
}

// roundMs is a duration in milliseconds rounded to 0.1 ms, as Phoenix reports latency.
func roundMs(ns int64) float64 {
	if ns < 0 {
		ns = 0
	}
	return float64((ns+50_000)/100_000) / 10
}

func (a *API) listTraces(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	tq := store.TraceQuery{ProjectID: p.ID, SessionIDs: listParam(q, "session_identifier"), WithSpans: q.Get("include_spans") == "true"}
	if tq.Limit, err = limitParam(q, 100, 1000); err != nil {
		return nil, err
	}
	if tq.Cursor, err = cursorParam(q, "Trace"); err != nil {
		return nil, err
	}
	if tq.StartTime, err = timeParam(q, "start_time"); err != nil {
		return nil, err
	}
	if tq.EndTime, err = timeParam(q, "end_time"); err != nil {
		return nil, err
	}
	switch s := q.Get("sort"); s {
	case "", "start_time":
		tq.Sort = store.SortStartTime
	case "latency_ms":
		tq.Sort = store.SortLatency
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "sort must be start_time or latency_ms, got %q", s)
	}
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		tq.Ascending = true
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "order must be asc or desc, got %q", o)
	}
	limit := tq.Limit
	tq.Limit++
	traces, err := a.Store.Traces(r.Context(), tq)
	if err != nil {
		return nil, err
	}
	out := page{}
	if len(traces) > limit {
		next := GlobalID("Trace", traces[limit].RowID)
		out.NextCursor = &next
		traces = traces[:limit]
	}
	data := make([]traceJSON, 0, len(traces))
	for _, t := range traces {
		tj, err := toTraceJSON(t)
		if err != nil {
			return nil, err
		}
		data = append(data, tj)
	}
	out.Data = data
	return out, nil
}
