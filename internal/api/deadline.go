package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// queryContext bounds the store queries of one read by a.QueryTimeout.
// Both stores cancel a query in the database when its context ends
// (SQLite interrupts it, PostgreSQL is sent a cancel request), so a query
// that runs out of time stops costing the server too.
func (a *API) queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.QueryTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.QueryTimeout)
}

// query runs one store query under the API's deadline.
func (a *API) query(r *http.Request, q func(ctx context.Context) error) error {
	ctx, cancel := a.queryContext(r.Context())
	defer cancel()
	return a.timedOut(r, ctx, q(ctx))
}

// timedOut turns err, returned by a store query made with qctx (from
// queryContext), into the answer for a query that ran out of time, when
// that is why it failed. The client is asked to narrow the read: the same
// query sent again would run out of time again.
func (a *API) timedOut(r *http.Request, qctx context.Context, err error) error {
	if err == nil || !errors.Is(qctx.Err(), context.DeadlineExceeded) || r.Context().Err() != nil {
		return err
	}
	a.Log.Warn("query ran out of time", "method", r.Method, "path", r.URL.Path, "timeout", a.QueryTimeout, "err", err)
	return &Error{Status: http.StatusServiceUnavailable, Msg: timeoutMessage(a.QueryTimeout)}
}

func timeoutMessage(d time.Duration) string {
	return fmt.Sprintf("the query took longer than %s; narrow the time range or the filter", d)
}
