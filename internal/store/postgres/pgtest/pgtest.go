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
	"net/url"
	"os"
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
	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func exec(t testing.TB, dbURL, sql string) {
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
