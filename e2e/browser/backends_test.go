package browser_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// backend is a storage a Loupe server runs on, and the flags that choose it.
type backend struct {
	name string
	args func(t *testing.T) []string
}

// backends are the storages whose pages the browser tests compare. Each
// answers the same filters, sorts and roll-ups with SQL of its own, so a
// flow that reads stored data is shown to work on each. PostgreSQL runs on
// a schema of the test's own (pgtest.URL), and skips without
// LOUPE_TEST_POSTGRES_URL unless LOUPE_E2E_REQUIRE=1 (CI=true in
// scripts/test.sh), where it fails.
var backends = []backend{
	{name: "sqlite", args: func(*testing.T) []string { return nil }},
	{name: "postgres", args: func(t *testing.T) []string { return []string{"--database", pgtest.URL(t)} }},
}

// onEachBackend runs flow once per backend, as a subtest named after it,
// each on a new server of its own. Only the flows whose result depends on
// the storage run twice: the browser tests are the slowest of the suite.
// A flow may leave what only the browser computes to the first backend
// (see repeated). The runs go one after the other: side by side, two
// Chromiums and two servers on a loaded 2-core machine miss the pages'
// time limits.
func onEachBackend(t *testing.T, flow func(t *testing.T, srv *e2etest.Server)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			args := b.args(t)
			if b.name != backends[0].name {
				again.Store(t, b.name)
				t.Cleanup(func() { again.Delete(t) })
			}
			flow(t, e2etest.Start(t, e2etest.Build(t), args...))
		})
	}
}

// again holds the tests that run a flow on a backend after the first,
// with that backend's name.
var again sync.Map // *testing.T → string

// repeated reports whether t runs a flow again, on a backend after the
// first: the rest of a flow that depends on the page alone can stop there.
func repeated(t *testing.T) bool {
	_, ok := again.Load(t)
	return ok
}

// screenshotDir is the folder for t's pages under dir: on a backend after
// the first, a folder named after it, so that its shots do not overwrite
// the first's under the same names.
func screenshotDir(t *testing.T, dir string) string {
	if name, ok := again.Load(t); ok {
		return filepath.Join(dir, name.(string))
	}
	return dir
}
