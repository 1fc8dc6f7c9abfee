// Package chtest gives tests a ClickHouse database of their own.
//
// Tests that need ClickHouse run when LOUPE_TEST_CLICKHOUSE_URL names a
// server they may create databases on (scripts/clickhouse.sh starts one
// and prints its URL); tests of the sharded layout need
// LOUPE_TEST_CLICKHOUSE_CLUSTER, the comma-separated URLs of the nodes of
// one cluster (scripts/clickhouse.sh cluster). Without them they skip,
// unless LOUPE_E2E_REQUIRE=1 or CI=true, which make a missing server a
// failure, as CI wants.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

const (
	// EnvURL names the environment variable holding the single test
	// server's URL, clickhouse://host:port/database.
	EnvURL = "LOUPE_TEST_CLICKHOUSE_URL"
	// EnvCluster names the environment variable holding the URLs of a
	// cluster's nodes, comma-separated, each with ?cluster=NAME.
	EnvCluster = "LOUPE_TEST_CLICKHOUSE_CLUSTER"
)

func required() bool {
	return os.Getenv("LOUPE_E2E_REQUIRE") == "1" || os.Getenv("CI") == "true"
}

func env(t testing.TB, name, how string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		if required() {
			t.Fatalf("%s is not set and CI requires it: %s", name, how)
		}
		t.Skipf("%s is not set; %s", name, how)
	}
	return v
}

// BaseURL returns the single test server's URL, or skips (or fails) the
// test when there is none.
func BaseURL(t testing.TB) string {
	t.Helper()
	return env(t, EnvURL, "export "+EnvURL+"=$(scripts/clickhouse.sh) starts a ClickHouse for these tests")
}

// ClusterURLs returns the URLs of the test cluster's nodes, or skips (or
// fails) the test when there is none.
func ClusterURLs(t testing.TB) []string {
	t.Helper()
	v := env(t, EnvCluster, "export "+EnvCluster+"=$(scripts/clickhouse.sh cluster) starts a three-node ClickHouse cluster for these tests")
	var urls []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// URL creates an empty database on the single test server, dropped when
// the test ends, and returns the server's URL naming it: tests running at
// once never see each other's tables.
func URL(t testing.TB) string {
	t.Helper()
	return withDatabase(t, []string{BaseURL(t)})[0]
}

// Cluster creates an empty database of the same name on every node of the
// test cluster (DDL ON CLUSTER is not available there), dropped when the
// test ends, and returns the nodes' URLs naming it, ?cluster=NAME kept.
// ClusterName reads the cluster's name from any of them.
func Cluster(t testing.TB) []string {
	t.Helper()
	return withDatabase(t, ClusterURLs(t))
}

// ClusterName returns the cluster parameter of a URL Cluster returned, or
// "" when there is none.
func ClusterName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Query().Get("cluster")
}

func withDatabase(t testing.TB, bases []string) []string {
	t.Helper()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	db := "loupe_test_" + hex.EncodeToString(suffix)
	out := make([]string, len(bases))
	for i, base := range bases {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("test ClickHouse URL %q: %v", base, err)
		}
		Exec(t, base, "CREATE DATABASE "+db)
		t.Cleanup(func() { Exec(t, base, "DROP DATABASE IF EXISTS "+db+" SYNC") })
		u.Path = "/" + db
		out[i] = u.String()
	}
	return out
}

// Conn opens a connection to the database a URL names (its cluster
// parameter ignored), closed when the test ends, for tests that look at
// tables directly.
func Conn(t testing.TB, rawURL string) clickhouse.Conn {
	t.Helper()
	opts, err := Options(rawURL)
	if err != nil {
		t.Fatalf("test ClickHouse URL %q: %v", rawURL, err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Options parses a test URL into the driver's options, leaving out the
// cluster parameter, which the driver would send as an unknown setting.
func Options(rawURL string) (*clickhouse.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Del("cluster")
	u.RawQuery = q.Encode()
	return clickhouse.ParseDSN(u.String())
}

// Exec runs one statement on the server a URL names, failing the test on
// error.
func Exec(t testing.TB, rawURL, sql string) {
	t.Helper()
	opts, err := Options(rawURL)
	if err != nil {
		t.Fatalf("test ClickHouse URL %q: %v", rawURL, err)
	}
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s on %s: %v", sql, hostOf(rawURL), err)
	}
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Host
	}
	return fmt.Sprintf("%q", rawURL)
}
