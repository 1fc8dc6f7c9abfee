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
	"Filters":                 "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"BoundedFilters":          "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"FilterCases":             "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"FilterInjection":         "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"LongFilters":             "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"TraceFilters":            "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"SessionFilters":          "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"SpanKeys":                "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"QueryDeadline":           "the filter language's ClickHouse SQL (filter*.go) is not in this backend yet",
	"Search":                  "full-text search (search*.go) is not in this backend yet",
	"SearchConditions":        "full-text search (search*.go) is not in this backend yet",
	"SearchIndexer":           "full-text search (search*.go) is not in this backend yet",
	"JSONStringLists":         "full-text search (search*.go) is not in this backend yet",
	"Annotations":             "annotations are not stored yet",
	"AnnotationAuthors":       "annotations are not stored yet",
	"FeedbackAttributes":      "annotations are not stored yet",
	"AnnotationSummaries":     "annotations are not stored yet",
	"SummariesFollowEntities": "annotations are not stored yet",
	"AnnotationScoreSeries":   "annotations are not stored yet",
	"SpanIDScope":             "annotations are not stored yet",
	"ProjectsCRUD":            "annotations are not stored yet",
	"DeleteSpan":              "annotations are not stored yet",
	"AuthUsers":               "users, API keys and login sessions are not stored yet",
	"APIKeys":                 "users, API keys and login sessions are not stored yet",
	"LoginSessions":           "users, API keys and login sessions are not stored yet",
	"CostRollups":             "usage roll-ups (by model, user, prompt version, tool) and cost recomputes are not written yet",
	"CallsCountedOnce":        "usage roll-ups (by model, user, prompt version, tool) and cost recomputes are not written yet",
	"RecomputeCosts":          "usage roll-ups (by model, user, prompt version, tool) and cost recomputes are not written yet",
	"RecomputeCalls":          "usage roll-ups (by model, user, prompt version, tool) and cost recomputes are not written yet",
	"UsageByTool":             "usage roll-ups (by model, user, prompt version, tool) and cost recomputes are not written yet",
	"TraceSeries":             "the Metrics tab's series and the prompt version report are not written yet",
	"SumsFollowTraces":        "the Metrics tab's series and the prompt version report are not written yet",
	"PromptVersionReport":     "the Metrics tab's series and the prompt version report are not written yet",
	"RetentionPolicies":       "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"RetentionByAge":          "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"RetentionByCount":        "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"DeleteTraceRange":        "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"StorageReport":           "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"DeleteTrace":             "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"DeleteSession":           "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"TransferTraces":          "retention, the storage report and deletes or moves of traces and sessions are not written yet",
	"SpanQueries":             "row ids are hashes of identities, not in arrival order: lists \"newest row first\" and ties broken by row id come out in another order",
	"SpanList":                "row ids are hashes of identities, not in arrival order: lists \"newest row first\" and ties broken by row id come out in another order",
	"SpanStartOrder":          "row ids are hashes of identities, not in arrival order: lists \"newest row first\" and ties broken by row id come out in another order",
	"TraceQueries":            "row ids are hashes of identities, not in arrival order: lists \"newest row first\" and ties broken by row id come out in another order",
	"SessionTraces":           "SessionLatencies is not written yet",
	"SpanListPreview":         "previews are not cut at a character boundary the way the other backends cut them",
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
