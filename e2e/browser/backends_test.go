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
func onEachBackend(t *testing.T, flow func(t *testing.T, srv *e2etest.Server)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			args := b.args(t)
			if b.name != backends[0].name {
				shotSubdir.Store(t, b.name)
				t.Cleanup(func() { shotSubdir.Delete(t) })
			}
			flow(t, e2etest.Start(t, e2etest.Build(t), args...))
		})
	}
}

// shotSubdir holds, per test, the folder under the screenshots directory
// its pages are saved in: the second backend's shots would otherwise
// overwrite the first's under the same names.
var shotSubdir sync.Map // *testing.T → string

func screenshotDir(t *testing.T, dir string) string {
	if sub, ok := shotSubdir.Load(t); ok {
		return filepath.Join(dir, sub.(string))
	}
	return dir
}
