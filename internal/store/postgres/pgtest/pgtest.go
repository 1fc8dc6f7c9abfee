// Package pgtest gives tests a PostgreSQL database of their own.
//
// Tests that need PostgreSQL run when LOUPE_TEST_POSTGRES_URL names a
// database they may create schemas in (scripts/postgres.sh starts one and
// prints its URL). Without it they skip, unless LOUPE_E2E_REQUIRE=1, which
// makes a missing database a failure, as CI wants.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the test database's URL.
const EnvURL = "LOUPE_TEST_POSTGRES_URL"

// BaseURL returns the test database's URL, or skips (or fails) the test
// when there is none.
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("LOUPE_E2E_REQUIRE") == "1" {
			t.Fatalf("%s is not set and LOUPE_E2E_REQUIRE=1: start PostgreSQL with scripts/postgres.sh", EnvURL)
		}
		t.Skipf("%s is not set; scripts/postgres.sh starts a PostgreSQL for these tests", EnvURL)
	}
	return u
}

// URL creates an empty schema, dropped when the test ends, and returns a
// URL whose connections use it: every table a store creates lands there,
// so tests running at once never see each other's data.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := "loupe_test_" + hex.EncodeToString(suffix)
	execSQL(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { execSQL(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func execSQL(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Cluster is a PostgreSQL cluster of one test's own, which it may stop
// and start: restarting the shared test database would fail the other
// tests using it meanwhile.
type Cluster struct {
	// URL names the cluster's database "loupe".
	URL    string
	script string
	env    []string
}

// NewCluster starts a throw-away cluster with scripts/postgres.sh, in a
// new directory and on a free port, and stops it when the test ends. It
// skips (or fails, as BaseURL does) where the shared test database is not
// set up, since the same script and server make both.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	BaseURL(t)
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	script := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "scripts", "postgres.sh")
	// Not t.TempDir: the cluster's owner, postgres when the test runs as
	// root, must be able to reach its directory.
	parent, err := os.MkdirTemp("", "loupe-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := &Cluster{script: script, env: append(os.Environ(),
		"LOUPE_PG_DIR="+filepath.Join(parent, "data"), fmt.Sprintf("LOUPE_PG_PORT=%d", port))}
	t.Cleanup(func() {
		c.run(t, "stop")
		os.RemoveAll(parent)
	})
	c.URL = strings.TrimSpace(c.run(t))
	return c
}

// Stop stops the cluster as an administrator would (pg_ctl stop -m fast):
// its connections end with SQLSTATE 57P01, and new ones are refused.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	c.run(t, "stop")
}

// Start starts the stopped cluster again on its data and port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.run(t)
}

func (c *Cluster) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.script, args...)
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", c.script, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
