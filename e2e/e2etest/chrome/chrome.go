// Package chrome starts the headless Chromium that Loupe's browser tests
// drive, and says where their screenshots go.
package chrome

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// Width and Height are the window every screenshot is taken in.
const Width, Height = 1440, 900

// Start starts headless Chromium for t, or reports it Missing, and returns
// the context of its first tab; the browser stops when t ends.
func Start(t *testing.T) context.Context {
	t.Helper()
	chromium := e2etest.RequireChromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(Width, Height),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser; it must not run under a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// ScreenshotDir is $LOUPE_TEST_OUTPUT/screenshots, or
// testdata-out/screenshots at the repository root, created if need be.
func ScreenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("LOUPE_TEST_OUTPUT")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatal("no go.mod above the test directory")
			}
		}
		root = filepath.Join(dir, "testdata-out")
	}
	dir := filepath.Join(root, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
