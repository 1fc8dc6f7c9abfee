package chtest_test

import (
	"context"
	"testing"

	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

func TestURL(t *testing.T) {
	u := chtest.URL(t)
	conn := chtest.Conn(t, u)
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE TABLE t (x Int64) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "INSERT INTO t VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
}

// TestCluster checks what the sharded layout relies on: a Distributed
// table over local shards on every node, written through one node and read
// whole from any.
func TestCluster(t *testing.T) {
	urls := chtest.Cluster(t)
	if len(urls) < 2 {
		t.Fatalf("%s names %d nodes, want at least 2", chtest.EnvCluster, len(urls))
	}
	cluster := chtest.ClusterName(urls[0])
	if cluster == "" {
		t.Fatalf("%s: no ?cluster= parameter", urls[0])
	}
	ctx := context.Background()
	var db string
	for _, u := range urls {
		conn := chtest.Conn(t, u)
		if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"CREATE TABLE t_local (x Int64) ENGINE = MergeTree ORDER BY x",
			"CREATE TABLE t AS t_local ENGINE = Distributed(" + cluster + ", " + db + ", t_local, cityHash64(x))",
		} {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	first := chtest.Conn(t, urls[0])
	if err := first.Exec(ctx, "INSERT INTO t SELECT number FROM numbers(300) SETTINGS distributed_foreground_insert = 1"); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		conn := chtest.Conn(t, u)
		var all, local uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM t").Scan(&all); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT count() FROM t_local").Scan(&local); err != nil {
			t.Fatal(err)
		}
		if all != 300 || local == 0 || local == 300 {
			t.Errorf("%s: %d rows through the Distributed table, %d in its shard; want 300, and a share", u, all, local)
		}
	}
}
