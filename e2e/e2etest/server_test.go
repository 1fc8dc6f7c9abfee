package e2etest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the loupe binary; skipped in -short mode")
	}
	srv := e2etest.Start(t, e2etest.Build(t))
	var page struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"next_cursor"`
	}
	srv.GetJSON(t, "/v1/projects", &page)
	if page.Data == nil {
		t.Errorf("GET /v1/projects: data is null, want a list")
	}
	srv.Stop(t)
}

// A killed server must come back on the same data directory: that is what
// crash-recovery tests build on.
func TestKillThenRestartOnSameData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the loupe binary; skipped in -short mode")
	}
	bin := e2etest.Build(t)
	first := e2etest.Start(t, bin)
	first.Kill(t)
	first.Kill(t) // a second Kill is a no-op, so cleanup paths can call it freely

	second := e2etest.Start(t, bin, "--data-dir", first.DataDir)
	if second.DataDir != first.DataDir {
		t.Errorf("restarted DataDir = %q, want %q", second.DataDir, first.DataDir)
	}
	if second.HTTPURL == first.HTTPURL {
		t.Logf("restart reused HTTP address %s (allowed, just unlikely)", second.HTTPURL)
	}
	entries, err := os.ReadDir(first.DataDir)
	if err != nil || len(entries) == 0 {
		t.Errorf("data dir %s: %v entries, err %v; want the database there", first.DataDir, len(entries), err)
	}
	second.Stop(t)
}

func TestBuildIsCached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the loupe binary; skipped in -short mode")
	}
	a, b := e2etest.Build(t), e2etest.Build(t)
	if a != b {
		t.Errorf("Build returned %q then %q, want one binary per test run", a, b)
	}
	if !filepath.IsAbs(a) {
		t.Errorf("Build returned relative path %q", a)
	}
}
