package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// filteredSpans reads one page of the Spans tab through the filter bar,
// with the tab's own kind, root and error choices.
func (h *Handler) filteredSpans(ctx context.Context, sp *spansPage) error {
	q := sp.Filter.spanQuery(sp.projectPage, sp.URL.Get("cursor"))
	q.RootsOnly = sp.RootsOnly
	// A filter keeps the order chosen; a search reads in the order its
	// index gives.
	q.Ascending = sp.Asc && sp.Filter.Search == ""
	if span.ValidKind(sp.Kind) {
		q.Kinds = []string{sp.Kind}
	}
	if sp.ErrorOnly {
		q.StatusCodes = []string{string(span.StatusError)}
	}
	recs, err := h.store.Spans(ctx, q)
	if err != nil {
		return err
	}
	if len(recs) > pageSize {
		sp.Next = sp.URL.With("cursor", sp.Filter.nextCursor(recs[pageSize]))
		recs = recs[:pageSize]
	}
	sp.Spans = make([]store.SpanRow, len(recs))
	for i, r := range recs {
		sp.Spans[i] = spanRowOf(r)
		if r.StatusCode == span.StatusError {
			// The record is at hand: no lookup for its error.
			if sp.Failures == nil {
				sp.Failures = make(map[string]*rowError)
			}
			sp.Failures[r.SpanID] = errorOf(r)
		}
	}
	return nil
}

// searchedTraces reads one page of the Traces tab searched for words: the
// traces whose root span holds them, newest received first, through the
// full-text index. A trace filter and the errors toggle then apply to that
// page's traces, read in one query by their ids (a page of the search may
// so show fewer rows than a full one: its paging is the search's).
func (h *Handler) searchedTraces(ctx context.Context, tp *tracesPage, tq store.TraceQuery) error {
	recs, err := h.store.Spans(ctx, tp.Filter.spanQuery(tp.projectPage, tp.URL.Get("cursor")))
	if err != nil {
		return err
	}
	if len(recs) > pageSize {
		tp.Next = tp.URL.With("cursor", tp.Filter.nextCursor(recs[pageSize]))
		recs = recs[:pageSize]
	}
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = pyString(r.TraceID)
	}
	byID, err := query.Parse("trace_id in [" + strings.Join(ids, ", ") + "]")
	if err != nil {
		return fmt.Errorf("list the searched traces: %w", err)
	}
	if tp.Filter.parsed != nil {
		byID = &query.BoolExpr{Op: query.And, X: byID, Y: tp.Filter.parsed}
	}
	// The page is the search's: neither its time range (which bounded the
	// root spans) nor its cursor apply to the traces again.
	tq.StartTime, tq.EndTime, tq.Cursor, tq.Filter, tq.Limit = 0, 0, 0, byID, len(recs)
	traces, err := h.store.Traces(ctx, tq)
	if err != nil {
		return err
	}
	found := make(map[string]store.Trace, len(traces))
	for _, t := range traces {
		found[t.TraceID] = t
	}
	for _, r := range recs {
		if t, ok := found[r.TraceID]; ok { // else filtered out, or deleted since
			tp.Traces = append(tp.Traces, t)
		}
	}
	return nil
}

// refused turns a filter the store could not run into the bar's error,
// and drops the filter so the list shows what it would without it.
func (f *listFilter) refused(err error) bool {
	if !errors.Is(err, store.ErrInvalidArgument) {
		return false
	}
	msg := strings.TrimSuffix(err.Error(), ": "+store.ErrInvalidArgument.Error())
	var qe *query.Error
	if errors.As(err, &qe) {
		f.Err = qe
	} else {
		f.Err = &query.Error{Msg: msg}
	}
	f.parsed, f.Search = nil, ""
	return true
}

// spanRowOf is a span record as the list shows it.
func spanRowOf(r store.SpanRecord) store.SpanRow {
	t := r.View.Tokens
	return store.SpanRow{
		RowID: r.RowID, TraceID: r.TraceID, SpanID: r.SpanID, ParentID: r.ParentID,
		Name: r.Name, Kind: string(r.View.Kind), Status: string(r.StatusCode),
		StartTime: r.StartTime, EndTime: r.EndTime,
		Tokens: store.TokenSums{Prompt: t.Prompt, Completion: t.Completion, Total: t.Total},
		Model:  r.View.ModelName, Cost: r.View.Cost.Total, CostStatus: string(r.View.Cost.Status),
		UserID: r.View.UserID, SessionID: r.View.SessionID,
		InputPreview:  clipRunes(r.View.InputPreview, store.SpanPreviewLength),
		OutputPreview: clipRunes(r.View.OutputPreview, store.SpanPreviewLength),
	}
}

// clipRunes keeps the first n characters of s, as the store's previews do.
func clipRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
