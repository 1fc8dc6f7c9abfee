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
	"SearchIndexer":           "it deletes a trace: retention and deletes of traces are not written yet",
	"SummariesFollowEntities": "deletes of spans (DeleteSpan) are not written yet",
	"ProjectsCRUD":            "a project's row id is derived from its name, so a project created again after a delete gets the deleted one's id",
	"DeleteSpan":              "deletes of spans (DeleteSpan) are not written yet",
	"AuthUsers":               "users, API keys and login sessions are not stored yet",
	"APIKeys":                 "users, API keys and login sessions are not stored yet",
	"LoginSessions":           "users, API keys and login sessions are not stored yet",
	"BoundedFilters":          "it moves traces and deletes one: TransferTraces and DeleteTrace are not written yet",
	"DocumentScores":          "it moves a trace to another project: TransferTraces is not written yet",
	"SumsFollowTraces":        "it deletes spans, traces and sessions and moves traces: deletes are not written yet",
	"RetentionPolicies":       "retention and deletes or moves of traces and sessions are not written yet",
	"RetentionByAge":          "retention and deletes or moves of traces and sessions are not written yet",
	"RetentionByCount":        "retention and deletes or moves of traces and sessions are not written yet",
	"DeleteTraceRange":        "retention and deletes or moves of traces and sessions are not written yet",
	"DeleteTrace":             "retention and deletes or moves of traces and sessions are not written yet",
	"DeleteSession":           "retention and deletes or moves of traces and sessions are not written yet",
	"TransferTraces":          "retention and deletes or moves of traces and sessions are not written yet",
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
