package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/web/view"
)

// rowError is what the Traces and Spans lists show of a failure: the
// exception type and message of the first failing span, or its status
// message when it recorded no exception.
type rowError struct {
	SpanID  string // the failing span, which a trace row opens on
	Type    string
	Message string
}

// errorOf reads the failure of a failed span.
func errorOf(rec store.SpanRecord) *rowError {
	e := &rowError{SpanID: rec.SpanID, Message: rec.StatusMessage}
	if x, ok := view.FirstException(rec.EventsJSON); ok {
		e.Type = x.Type
		if x.Message != "" {
			e.Message = x.Message
		}
	}
	return e
}

// traceErrors reads the first failing span of each listed trace that has
// one. It costs one query per such trace on the page (at most pageSize),
// through the spans' index by trace and start time: a trace's spans up to
// its first failure and one span's record, nothing over the project. A
// failure kept with the trace roll-up would spare the lookups, at the
// price of a column every backend keeps up to date on every write.
func (h *Handler) traceErrors(ctx context.Context, projectID int64, traces []store.Trace) (map[string]*rowError, error) {
	var out map[string]*rowError
	for _, t := range traces {
		if t.ErrorCount == 0 {
			continue
		}
		recs, err := h.store.Spans(ctx, store.SpanQuery{
			ProjectID: projectID, TraceIDs: []string{t.TraceID},
			StatusCodes:      []string{string(span.StatusError)},
			OrderByStartTime: true, Ascending: true, Limit: 1,
		})
		if err != nil {
			return nil, fmt.Errorf("read the first error of trace %s: %w", t.TraceID, err)
		}
		if len(recs) == 0 {
			continue // deleted since
		}
		if out == nil {
			out = make(map[string]*rowError)
		}
		out[t.TraceID] = errorOf(recs[0])
	}
	return out, nil
}

// spanErrors adds to errs the failure of each failed span listed that it
// lacks: one lookup by span id per failed row of the page.
func (h *Handler) spanErrors(ctx context.Context, rows []store.SpanRow, errs map[string]*rowError) (map[string]*rowError, error) {
	for _, r := range rows {
		if r.Status != string(span.StatusError) {
			continue
		}
		if _, ok := errs[r.SpanID]; ok {
			continue
		}
		rec, err := h.store.SpanByID(ctx, r.SpanID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, fmt.Errorf("read the error of span %s: %w", r.SpanID, err)
		}
		if errs == nil {
			errs = make(map[string]*rowError)
		}
		errs[r.SpanID] = errorOf(rec)
	}
	return errs, nil
}
