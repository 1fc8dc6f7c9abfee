package browser_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest/chrome"
)

// page drives one browser tab for a test and saves screenshots of what it shows.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string // server URL
	dir  string // where screenshots go

	mu      sync.Mutex
	console []chromedp.ConsoleMessage // what the pages wrote to the console
}

// newPage starts headless Chromium, or skips the test when it is not
// installed (fails instead when LOUPE_E2E_REQUIRE=1, as in CI).
func newPage(t *testing.T, base string) *page {
	t.Helper()
	ctx := chrome.Start(t)
	dir := screenshotDir(t, chrome.ScreenshotDir(t))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, ctx: ctx, base: base, dir: dir}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.console {
			if m.IsException() {
				t.Errorf("page exception: %s", m)
			} else if t.Failed() {
				t.Logf("console %s: %s", m.Type, m)
			}
		}
	})
	return p
}

// do runs steps with a time limit, failing the test with what was being done.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (p *page) open(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// text is the visible text of the first element matching sel, once visible.
func (p *page) text(sel string) string {
	p.t.Helper()
	p.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return run(p, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// see fails unless the element matching sel shows every one of wants.
// The comparison ignores case (CSS may upper-case a label) and reads
// narrow no-break spaces (number grouping) as spaces.
func (p *page) see(sel string, wants ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, w := range wants {
		if !strings.Contains(normalize(got), normalize(w)) {
			p.shot("failed-see")
			p.t.Errorf("%s shows %q, want it to contain %q", sel, abbreviate(got), w)
		}
	}
}

func normalize(s string) string {
	return strings.ToLower(strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(s))
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

func (p *page) key(keys string) {
	p.t.Helper()
	p.do("press "+keys, chromedp.KeyEvent(keys))
}

// eval evaluates a JavaScript expression.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	return run(p, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// waitFor evaluates a JavaScript condition every 100 ms until it is true.
// It survives navigations, which a condition like "the page moved to the
// project" waits for.
func (p *page) waitFor(what, expr string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		// A navigation changes location before the new page is parsed, so
		// a condition on the URL holds only once the document is complete.
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
	p.t.Fatalf("waiting for %s (%s): not true after %v (last error: %v)", what, expr, timeout, last)
}

func (p *page) location() string {
	p.t.Helper()
	return run(p, "read the location", chromedp.Location())
}

// shot saves a PNG of the viewport as name.png.
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			p.t.Logf("screenshot %s: %v", name, err)
		}
		return
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("save screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot: %s", path)
}

// darkMode switches prefers-color-scheme.
func (p *page) darkMode(on bool) {
	p.t.Helper()
	scheme := "light"
	if on {
		scheme = "dark"
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		p.t.Fatalf("prefer %s: %v", scheme, err)
	}
}

// selectSpan clicks the name of the tree row matching row and waits until
// the detail panel shows that span.
func (p *page) selectSpan(row string) {
	p.t.Helper()
	id := eval[string](p, `document.querySelector(`+jsString(row)+`).dataset.id`)
	p.click(row + " .span-name")
	p.waitFor("the detail of span "+id, `document.querySelector(".detail")?.dataset.span === `+jsString(id), 10*time.Second)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
