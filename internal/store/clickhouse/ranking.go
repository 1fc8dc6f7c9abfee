package clickhouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/loupe-dev/loupe/internal/store"
)

// traceSortKey is the column of traceRows a trace list sorts by, and the
// same value of a trace read whole, for a cursor.
func traceSortKey(sort store.TraceSort) (string, func(store.Trace) (string, any), error) {
	switch sort {
	case "", store.SortStartTime:
		return "start_time", func(t store.Trace) (string, any) { return "Int64", t.StartTime }, nil
	case store.SortLatency:
		return "(end_time - start_time)", func(t store.Trace) (string, any) { return "Int64", t.EndTime - t.StartTime }, nil
	case store.SortCost:
		return "cost_total", func(t store.Trace) (string, any) { return "Float64", t.Cost.Total }, nil
	case store.SortTokens:
		return "total_tokens", func(t store.Trace) (string, any) { return "Int64", t.Tokens.Total }, nil
	}
	return "", nil, fmt.Errorf("%w: trace sort %q", store.ErrInvalidArgument, sort)
}

// traceCursor is the keyset condition of a page that starts at the trace
// with row id cursor: (key, id) at or past the cursor trace's own. The
// trace is read first rather than in a subquery, which on a cluster would
// run on every shard while the trace lives on one. A cursor trace no longer
// stored makes an empty page, as on the other backends.
func (s *Store) traceCursor(ctx context.Context, w *where, key string, value func(store.Trace) (string, any), cmp string, cursor int64) (string, error) {
	t, err := s.TraceByRowID(ctx, cursor)
	if errors.Is(err, store.ErrNotFound) {
		return "0", nil
	}
	if err != nil {
		return "", err
	}
	typ, v := value(t)
	return "(" + key + ", id) " + cmp + " (" + w.arg(typ, v) + ", " + w.arg("Int64", cursor) + ")", nil
}

// sessionCursor is the keyset condition of a page of sessions that starts
// at the session with row id cursor, read first as traceCursor reads its
// trace.
func (s *Store) sessionCursor(ctx context.Context, w *where, cmp string, cursor int64) (string, error) {
	se, err := s.SessionByRowID(ctx, cursor)
	if errors.Is(err, store.ErrNotFound) {
		return "0", nil
	}
	if err != nil {
		return "", err
	}
	return "(r.start_time, se.id) " + cmp + " (" + w.arg("Int64", se.StartTime) + ", " + w.arg("Int64", cursor) + ")", nil
}
