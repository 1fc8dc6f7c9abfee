package store

import "context"

// Searcher reports on the full-text index behind SpanQuery.Search.
//
// A backend may fill the index after WriteSpans returns, as SQLite's does to
// keep ingest fast: a stored span then becomes searchable a few seconds
// later, and a search meanwhile misses it. SearchLag lets a page say so.
type Searcher interface {
	// SearchLag counts the spans of a project (of every project when
	// projectID is 0) that are stored but not yet searchable.
	SearchLag(ctx context.Context, projectID int64) (int64, error)
	// WaitIndexed returns once every span stored before the call is
	// searchable.
	WaitIndexed(ctx context.Context) error
}
