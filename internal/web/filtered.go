package web

import (
	"context"
	"errors"
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
	}
	return nil
}

// filteredTraces reads one page of the Traces tab through the filter bar:
// the traces whose root span matches, newest root first.
func (h *Handler) filteredTraces(ctx context.Context, tp *tracesPage) error {
	recs, err := h.store.Spans(ctx, tp.Filter.spanQuery(tp.projectPage, tp.URL.Get("cursor")))
	if err != nil {
		return err
	}
	if len(recs) > pageSize {
		tp.Next = tp.URL.With("cursor", tp.Filter.nextCursor(recs[pageSize]))
		recs = recs[:pageSize]
	}
	for _, r := range recs {
		t, err := h.store.TraceInfo(ctx, r.TraceID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return err
		}
		tp.Traces = append(tp.Traces, t)
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
