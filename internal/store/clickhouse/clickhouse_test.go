package clickhouse_test

import (
	"context"
	"log/slog"
	"path"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

var discard = slog.New(slog.DiscardHandler)

// unsupported lists the conformance cases the ClickHouse backend does not
// pass yet, each with why: the one place they are named. A case listed
// here is skipped with its reason, never passed silently.
var unsupported = map[string]string{
	"ErrorGroups":         "error groups (ErrorGroups) are not read yet",
	"CostRanking":         "spans and traces do not yet sort by cost or tokens (SpanQuery.Sort, TraceQuery.Sort)",
	"SpanKeys":            "keys and spans pinned before a write do not yet leave out spans written after the pin",
	"QueryDeadline":       "a query past its deadline reports the driver's read timeout as storage unavailable, not as the deadline",
	"SessionFilters":      "duration_ms in a session filter does not yet match the other backends' session duration",
	"BoundedFilters":      "it reprices spans: cost recomputes (RecomputeCosts) are not written yet",
	"CallsCountedOnce":    "tool costs (UsageByTool) are not written yet",
	"RecomputeCosts":      "cost recomputes (RecomputeCosts) are not written yet",
	"RecomputeCalls":      "cost recomputes (RecomputeCosts) are not written yet",
	"UsageByTool":         "tool costs (UsageByTool) are not written yet",
	"SumsFollowTraces":    "RecomputeCosts is not written yet",
	"PromptVersionReport": "the prompt version report is not written yet",
	"SpanStartOrder":      "row ids are hashes of identities, not increasing with arrival: spans list in arrival order by their version, but this case asserts ascending row ids (and traces of equal start or latency tie by hash)",
	"TraceQueries":        "row ids are hashes of identities, not increasing with arrival: spans list in arrival order by their version, but this case asserts ascending row ids (and traces of equal start or latency tie by hash)",
	"DocumentScores":      "document scores (DocumentScores, the retrieval metrics) are not read yet",
	"SpanListPreview":     "previews are not cut at a character boundary the way the other backends cut them",
}

func open(t testing.TB, url string) *clickhouse.Store {
	t.Helper()
	s, err := clickhouse.Open(context.Background(), url, clickhouse.Config{}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	chtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		if why, ok := unsupported[path.Base(t.Name())]; ok {
			t.Skip("not supported by the ClickHouse backend yet: " + why)
		}
		return open(t, chtest.URL(t))
	})
}

// TestAuthShared revokes a key through one handle on a database and
// expects an auth.Service on a second handle to refuse it within a second.
func TestAuthShared(t *testing.T) {
	chtest.BaseURL(t)
	url := chtest.URL(t)
	storetest.AuthShared(t, open(t, url), open(t, url))
}
