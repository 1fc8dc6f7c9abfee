package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/usd"
)

type traceJSON struct {
	ID                   string  `json:"id"`
	TraceID              string  `json:"trace_id"`
	ProjectID            string  `json:"project_id"`
	StartTime            string  `json:"start_time"`
	EndTime              string  `json:"end_time"`
	LatencyMs            float64 `json:"latency_ms"`
	RootSpanID           *string `json:"root_span_id"`
	Name                 string  `json:"name"`
	SpanKind             string  `json:"span_kind"`
	StatusCode           string  `json:"status_code"`
	SpanCount            int64   `json:"num_spans"`
	ErrorCount           int64   `json:"error_count"`
	LLMSpanCount         int64   `json:"llm_span_count"`
	TokenCountPrompt     int64   `json:"token_count_prompt"`
	TokenCountCompletion int64   `json:"token_count_completion"`
	TokenCountTotal      int64   `json:"token_count_total"`
	TokenCountCacheRead  int64   `json:"token_count_cache_read"`
	TokenCountCacheWrite int64   `json:"token_count_cache_write"`
	TokenCountReasoning  int64   `json:"token_count_reasoning"`
	TotalCost            float64 `json:"total_cost"`
	PromptCost           float64 `json:"prompt_cost"`
	CompletionCost       float64 `json:"completion_cost"`
	UnpricedSpans        int64   `json:"unpriced_spans"`
	SessionID            *string `json:"session_id"`
	UserID               *string `json:"user_id"`
	Input                string  `json:"input"`
	Output               string  `json:"output"`
}

// traceSpanJSON is a span of a trace listed with include_spans: Phoenix's
// TraceSpanData, the fields that place a span in its trace's tree. A
// span's attributes and events come from the spans routes.
type traceSpanJSON struct {
	ID         string  `json:"id"`
	SpanID     string  `json:"span_id"`
	ParentID   *string `json:"parent_id"`
	Name       string  `json:"name"`
	SpanKind   string  `json:"span_kind"`
	StatusCode string  `json:"status_code"`
	StartTime  string  `json:"start_time"`
	EndTime    string  `json:"end_time"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toTraceJSON(t store.Trace) traceJSON {
	status := t.RootStatus
	if t.ErrorCount > 0 {
		status = "ERROR"
	}
	out := traceJSON{
		ID: GlobalID("Trace", t.RowID), TraceID: t.TraceID, ProjectID: GlobalID("Project", t.ProjectID),
		StartTime: isotime.Format(t.StartTime), EndTime: isotime.Format(t.EndTime),
		LatencyMs:  roundMs(t.EndTime - t.StartTime),
		RootSpanID: optional(t.RootSpanID), Name: t.RootName, SpanKind: t.RootKind, StatusCode: status,
		SpanCount: t.SpanCount, ErrorCount: t.ErrorCount, LLMSpanCount: t.LLMSpanCount,
		TokenCountPrompt: t.Tokens.Prompt, TokenCountCompletion: t.Tokens.Completion, TokenCountTotal: t.Tokens.Total,
		TokenCountCacheRead: t.Tokens.CacheRead, TokenCountCacheWrite: t.Tokens.CacheWrite, TokenCountReasoning: t.Tokens.Reasoning,
		TotalCost: usd.Round(t.Cost.Total), PromptCost: usd.Round(t.Cost.Prompt), CompletionCost: usd.Round(t.Cost.Completion), UnpricedSpans: t.Cost.Unpriced,
		SessionID: optional(t.SessionID), UserID: optional(t.UserID), Input: t.InputPreview, Output: t.OutputPreview,
	}
	return out
}

// roundMs is a duration in milliseconds rounded to 0.1 ms, as Phoenix reports latency.
func roundMs(ns int64) float64 {
	if ns < 0 {
		ns = 0
	}
	return float64((ns+50_000)/100_000) / 10
}

// serveTraces lists a project's traces; with include_spans the answer is
// streamed, as a trace can hold any number of spans.
func (a *API) serveTraces(w http.ResponseWriter, r *http.Request) {
	withSpans, err := isTrue(r.URL.Query(), "include_spans")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !withSpans {
		a.wrap(a.listTraces).ServeHTTP(w, r)
		return
	}
	a.streamTraces(w, r)
}

// traceQuery reads a page of traces as the query parameters ask, and the
// next page's cursor. The cursor is Phoenix's: the sort value and row id
// of the page's last trace, the next page starting after it.
func (a *API) traceQuery(r *http.Request) ([]store.Trace, *string, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, nil, err
	}
	q := r.URL.Query()
	tq := store.TraceQuery{ProjectID: p.ID, SessionIDs: listParam(q, "session_identifier")}
	if tq.Limit, err = limitParam(q, 100, 1000); err != nil {
		return nil, nil, err
	}
	if tq.StartTime, err = timeParam(q, "start_time"); err != nil {
		return nil, nil, err
	}
	if tq.EndTime, err = timeParam(q, "end_time"); err != nil {
		return nil, nil, err
	}
	cursorType := cursorDatetime
	switch s := q.Get("sort"); s {
	case "", "start_time":
		tq.Sort = store.SortStartTime
	case "latency_ms":
		tq.Sort, cursorType = store.SortLatency, cursorFloat
	default:
		return nil, nil, errorf(http.StatusUnprocessableEntity, "sort must be start_time or latency_ms, got %q", s)
	}
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		tq.Ascending = true
	default:
		return nil, nil, errorf(http.StatusUnprocessableEntity, "order must be asc or desc, got %q", o)
	}
	if err := traceConditions(q, &tq); err != nil {
		return nil, nil, err
	}
	if c := q.Get("cursor"); c != "" {
		if tq.AfterRowID, tq.AfterValue, err = parseSortCursor(c, cursorType); err != nil {
			return nil, nil, err
		}
	}
	limit := tq.Limit
	tq.Limit++
	traces, err := a.Store.Traces(r.Context(), tq)
	if err != nil {
		return nil, nil, err
	}
	var next *string
	if len(traces) > limit {
		traces = traces[:limit]
		last := traces[limit-1]
		c := timeCursor(last.RowID, last.StartTime)
		if tq.Sort == store.SortLatency {
			c = latencyCursor(last.RowID, last.EndTime-last.StartTime)
		}
		next = &c
	}
	return traces, next, nil
}

// traceConditions reads the parameters that select traces by their
// roll-ups: error, min_latency_ms and max_latency_ms (Phoenix 20.8), and
// filter (Phoenix 20.12), which an empty value leaves out and an invalid
// one is answered 400 for, as Phoenix does.
func traceConditions(q url.Values, tq *store.TraceQuery) error {
	hasError, err := boolParam(q, "error")
	if err != nil {
		return err
	}
	if hasError != nil {
		tq.Errors = store.NoErrors
		if *hasError {
			tq.Errors = store.ErrorsOnly
		}
	}
	if tq.MinLatency, err = latencyParam(q, "min_latency_ms", true); err != nil {
		return err
	}
	if tq.MaxLatency, err = latencyParam(q, "max_latency_ms", false); err != nil {
		return err
	}
	if f := strings.TrimSpace(q.Get("filter")); f != "" {
		e, err := query.Parse(f)
		if err == nil {
			err = query.CheckTraces(e)
		}
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid trace filter: %v", err)
		}
		tq.Filter = e
	}
	return nil
}

func (a *API) listTraces(r *http.Request) (any, error) {
	traces, next, err := a.traceQuery(r)
	if err != nil {
		return nil, err
	}
	data := make([]traceJSON, 0, len(traces))
	for _, t := range traces {
		data = append(data, toTraceJSON(t))
	}
	return page{Data: data, NextCursor: next}, nil
}

// streamTraces writes a page of traces with their spans, each trace's
// spans as the store reads them, so that memory holds one span whatever a
// trace's size (a trace of 100,000 spans made a 37 MB answer, built whole
// before). The page of traces gets the API's deadline, and so does the
// reading of each trace's spans. Errors before the first byte get their
// status; after, the connection ends before the answer does.
func (a *API) streamTraces(w http.ResponseWriter, r *http.Request) {
	var traces []store.Trace
	var next *string
	err := a.query(r, func(ctx context.Context) (err error) {
		traces, next, err = a.traceQuery(r.WithContext(ctx))
		return err
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	err = a.writeTraces(r, bw, traces, next)
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case err == nil:
	case cw.n == 0:
		a.writeError(w, r, err)
	case r.Context().Err() != nil:
	default:
		a.Log.Warn("traces with spans failed after the answer started", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (a *API) writeTraces(r *http.Request, bw *bufio.Writer, traces []store.Trace, next *string) error {
	bw.WriteString(`{"data":[`)
	var b []byte
	for i, t := range traces {
		if i > 0 {
			bw.WriteByte(',')
		}
		head, err := json.Marshal(toTraceJSON(t))
		if err != nil {
			return err
		}
		bw.Write(head[:len(head)-1])
		bw.WriteString(`,"spans":[`)
		first := true
		err = a.query(r, func(ctx context.Context) error {
			return a.Store.EachTreeSpan(ctx, t.RowID, func(s *store.TreeSpan) error {
				if !first {
					bw.WriteByte(',')
				}
				first = false
				sj := traceSpanJSON{ID: GlobalID("Span", s.RowID), SpanID: s.SpanID, ParentID: optional(s.ParentID),
					Name: s.Name, SpanKind: s.Kind, StatusCode: s.Status,
					StartTime: isotime.Format(s.StartTime), EndTime: isotime.Format(s.EndTime)}
				b, err = appendJSON(b[:0], sj)
				if err != nil {
					return err
				}
				_, err = bw.Write(b)
				return err
			})
		})
		if err != nil {
			return err
		}
		bw.WriteString("]}")
	}
	bw.WriteString(`],"next_cursor":`)
	cursor, _ := json.Marshal(next)
	bw.Write(cursor)
	_, err := bw.WriteString("}\n")
	return err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// appendJSON appends v as JSON, without the newline an Encoder adds.
func appendJSON(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	return append(b, out...), err
}
