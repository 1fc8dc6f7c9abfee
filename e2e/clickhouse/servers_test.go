// Package clickhouse_test runs two loupe servers on one three-shard
// ClickHouse cluster, each talking to a different node, as a deployment
// that outgrew PostgreSQL does.
package clickhouse_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// TestServersShareOneCluster sends the spans of the same traces to two
// servers at once, on two nodes of a three-shard cluster, each trace's
// spans split between them, with some requests sent to both (a client
// retrying elsewhere). Both servers must then show every span once, exact
// roll-ups, and the same pages.
func TestServersShareOneCluster(t *testing.T) {
	urls := chtest.Cluster(t)
	bin := e2etest.Build(t)
	// The first names its cluster in the URL, the second with the flag.
	second, _, _ := strings.Cut(urls[1], "?")
	servers := []*e2etest.Server{
		e2etest.Start(t, bin, "--database", urls[0]),
		e2etest.Start(t, bin, "--database", second, "--clickhouse-cluster", chtest.ClusterName(urls[0])),
	}

	e2etest.ShareTraces(t, servers)
	checkPages(t, servers)
	for _, srv := range servers {
		srv.Stop(t)
	}
}

// checkPages reads the UI's pages of the shared projects from both servers:
// each lists the same traces, and the errors-only view none (no span
// failed).
func checkPages(t *testing.T, servers []*e2etest.Server) {
	t.Helper()
	for p := range e2etest.SharedProjects {
		project := fmt.Sprintf("shared-%d", p)
		for i, srv := range servers {
			page := srv.GetText(t, "/projects/"+project)
			for tr := 1; tr <= e2etest.SharedTraces; tr++ {
				id := e2etest.SharedTraceID(tr)
				if tr%e2etest.SharedProjects == p && !strings.Contains(page, fmt.Sprintf("%x", id[:])) {
					t.Errorf("server %d: the trace page of %s does not list trace %d", i, project, tr)
				}
			}
			tr := e2etest.SharedTraceID(p + e2etest.SharedProjects)
			if tp := srv.GetText(t, fmt.Sprintf("/projects/%s/traces/%x", project, tr[:])); !strings.Contains(tp, "step-5") {
				t.Errorf("server %d: the trace page of trace %d does not show its spans", i, p+e2etest.SharedProjects)
			}
		}
	}
}
