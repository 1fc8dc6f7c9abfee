package e2etest

import (
	"os"
	"testing"
)

// Chromium is where the browser tests expect headless Chromium; the test
// command installs it there (apt-get install chromium).
const Chromium = "/usr/bin/chromium"

// RequireChromium returns Chromium's path, or reports it Missing.
func RequireChromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		Missing(t, "no Chromium at "+Chromium+" (apt-get install chromium, or scripts/test.sh)")
	}
	return Chromium
}

// Missing ends a test whose prerequisite this machine lacks: it skips,
// saying what is missing and how to provide it, or fails when
// LOUPE_E2E_REQUIRE=1 (the test command sets it in CI), so that a broken
// set-up cannot pass as a skip. `go test -v ./... | grep -B1 -- '--- SKIP'`
// lists every skipped test with its reason.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("LOUPE_E2E_REQUIRE") == "1" {
		t.Fatalf("LOUPE_E2E_REQUIRE=1 but %s", why)
	}
	t.Skipf("%s; set LOUPE_E2E_REQUIRE=1 to make this a failure", why)
}
