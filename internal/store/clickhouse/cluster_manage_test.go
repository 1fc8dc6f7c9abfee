package clickhouse_test

import (
	"context"
	"errors"
	"path"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

// managed are the conformance cases of what changes or removes stored
// rows (auth state, deletes, transfers, retention), which on a cluster
// write rows on one shard and delete them on every node's local tables.
var managed = map[string]bool{
	"AuthUsers": true, "APIKeys": true, "LoginSessions": true, "DeleteSpan": true, "SummariesFollowEntities": true,
	"SearchIndexer": true, "RetentionPolicies": true, "RetentionByAge": true, "RetentionByCount": true,
	"DeleteTraceRange": true, "DeleteTrace": true, "DeleteSession": true, "TransferTraces": true, "ProjectsCRUD": true,
}

// TestClusterManage runs those cases on the three-shard cluster, each
// through another node.
func TestClusterManage(t *testing.T) {
	chtest.ClusterURLs(t)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		if !managed[path.Base(t.Name())] {
			t.Skip("run on one node by TestConformance")
		}
		n++
		return open(t, chtest.Cluster(t)[n%3])
	})
}

// TestClusterAuthShared revokes a key through one node and expects a server
// on another to refuse it within a second.
func TestClusterAuthShared(t *testing.T) {
	urls := chtest.Cluster(t)
	storetest.AuthShared(t, open(t, urls[0]), open(t, urls[2]))
}

// TestClusterDeletes deletes, moves and expires traces through one node
// and reads the counts a user sees through the others.
func TestClusterDeletes(t *testing.T) {
	urls := chtest.Cluster(t)
	ctx := context.Background()
	nodes := []store.Store{open(t, urls[0]), open(t, urls[1]), open(t, urls[2])}
	var spans []span.Span
	for i := range 30 {
		spans = append(spans, clusterTrace(i)...)
	}
	if _, err := nodes[0].WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	p, err := nodes[0].ProjectByName(ctx, "sharded")
	if err != nil {
		t.Fatal(err)
	}
	stats := func(projectID int64, traces, spans, errorTraces, tokens int64) {
		t.Helper()
		for i, s := range nodes {
			st, err := s.ProjectStats(ctx, projectID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.Traces != traces || st.Spans != spans || st.ErrorTraces != errorTraces || st.Tokens.Total != tokens {
				t.Errorf("node %d: project %d stats = %d traces, %d spans, %d with errors, %d tokens; want %d, %d, %d, %d",
					i+1, projectID, st.Traces, st.Spans, st.ErrorTraces, st.Tokens.Total, traces, spans, errorTraces, tokens)
			}
		}
	}
	stats(p.ID, 30, 90, 10, 900)

	// Trace 0 has an error; its deletion through node 2 is seen everywhere.
	if err := nodes[1].DeleteTrace(ctx, traceHex(0)); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].DeleteTrace(ctx, traceHex(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it again through node 3 = %v, want ErrNotFound", err)
	}
	stats(p.ID, 29, 87, 9, 870)

	// Trace 3's erroring tool span and trace 4's LLM call go.
	for _, sp := range []string{clusterTrace(3)[1].SpanID, clusterTrace(4)[2].SpanID} {
		rec, err := nodes[0].SpanByID(ctx, sp)
		if err != nil {
			t.Fatal(err)
		}
		if err := nodes[2].DeleteSpan(ctx, rec.RowID); err != nil {
			t.Fatal(err)
		}
	}
	stats(p.ID, 29, 85, 8, 840)

	// Trace 5 moves to another project.
	to, err := nodes[1].CreateProject(ctx, "moved", "")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := nodes[0].TransferTraces(ctx, []string{traceHex(5)}, to.ID); err != nil || n != 1 {
		t.Fatalf("TransferTraces = %d, %v", n, err)
	}
	stats(p.ID, 28, 82, 8, 810)
	stats(to.ID, 1, 3, 0, 30)

	// Keep the newest 10, seven at a time.
	var deleted store.Deleted
	for {
		d, err := nodes[2].DeleteTraces(ctx, store.TraceDeletion{ProjectID: p.ID, KeepNewest: 10, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if d.Traces == 0 {
			break
		}
		deleted.Traces += d.Traces
		deleted.Spans += d.Spans
	}
	if deleted.Traces != 18 {
		t.Errorf("retention deleted %d traces, want 18", deleted.Traces)
	}
	// Traces 20-29 are the newest; 21 and 24 have errors.
	stats(p.ID, 10, 30, 3, 300)

	// The project goes; spans sent to its name again make a new, empty one.
	if err := nodes[0].DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].WriteSpans(ctx, clusterTrace(40)); err != nil {
		t.Fatal(err)
	}
	again, err := nodes[2].ProjectByName(ctx, "sharded")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == p.ID {
		t.Errorf("the project created again has the deleted one's id")
	}
	stats(again.ID, 1, 3, 0, 30)
	stats(p.ID, 0, 0, 0, 0)
}
