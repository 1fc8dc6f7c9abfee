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
// ~/.cache/loupe-test/venv), once every one of packages (names as pip
// knows them) is installed there, and logs their versions. Without it the
// test is Missing its prerequisite.
func Python(t testing.TB, packages ...string) string {
	t.Helper()
	venv := os.Getenv("LOUPE_PY_VENV")
	if venv == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			Missing(t, "no LOUPE_PY_VENV and no home directory")
		}
		venv = filepath.Join(home, ".cache", "loupe-test", "venv")
	}
	python := filepath.Join(venv, "bin", "python")
	quoted := make([]string, len(packages))
	for i, p := range packages {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	out, err := exec.Command(python, "-c", "from importlib.metadata import version\n"+
		"print(*(p + ' ' + version(p) for p in ("+strings.Join(quoted, ", ")+",)), sep=', ')").CombinedOutput()
	if err != nil {
		Missing(t, fmt.Sprintf("no Python environment with %s at %s (scripts/test.sh creates it): %v %s",
			strings.Join(packages, ", "), venv, err, bytes.TrimSpace(out)))
	}
	t.Logf("Python packages: %s", bytes.TrimSpace(out))
	return python
}
