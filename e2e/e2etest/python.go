package e2etest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python returns the python of the test virtual environment that
// scripts/test.sh creates with pinned packages ($LOUPE_PY_VENV, or
// ~/.cache/loupe-test/venv), once it can import every one of modules.
// Without it the test skips, unless LOUPE_E2E_REQUIRE=1 (set in CI), where
// it fails instead so that a broken setup cannot pass as a skip.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	venv := os.Getenv("LOUPE_PY_VENV")
	if venv == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			pythonMissing(t, "no LOUPE_PY_VENV and no home directory")
		}
		venv = filepath.Join(home, ".cache", "loupe-test", "venv")
	}
	python := filepath.Join(venv, "bin", "python")
	out, err := exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		pythonMissing(t, fmt.Sprintf("no Python environment with %s at %s (scripts/test.sh creates it): %v %s",
			strings.Join(modules, ", "), venv, err, bytes.TrimSpace(out)))
	}
	return python
}

func pythonMissing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("LOUPE_E2E_REQUIRE") == "1" {
		t.Fatalf("LOUPE_E2E_REQUIRE=1 but %s", why)
	}
	t.Skipf("%s; set LOUPE_E2E_REQUIRE=1 to make this a failure", why)
}
