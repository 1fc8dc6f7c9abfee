// Package postgres_test runs several loupe servers on one PostgreSQL
// database, as a deployment that outgrew one machine does.
package postgres_test

import (
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// TestServersShareOneDatabase sends the spans of the same traces to two
// servers at once, each trace's spans split between them, with some
// requests sent to both (a client retrying elsewhere). Both servers must
// then show every span once and exact roll-ups.
func TestServersShareOneDatabase(t *testing.T) {
	url := pgtest.URL(t)
	bin := e2etest.Build(t)
	servers := []*e2etest.Server{
		e2etest.Start(t, bin, "--database", url),
		e2etest.Start(t, bin, "--database", url),
	}

	e2etest.ShareTraces(t, servers)
	for _, srv := range servers {
		srv.Stop(t)
	}
}
