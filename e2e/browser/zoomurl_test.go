package browser_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestWaterfallZoomInTheURL is a person zooming the waterfall and sharing
// what they see: the window is in the URL, survives a reload and other
// changes of the page, opens as such from a pasted link, and Reset takes
// it out.
func TestWaterfallZoomInTheURL(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	d := loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)
	page := "/projects/support-bot/traces/" + d.agent
	zoomParam := func() string { return eval[string](p, `new URLSearchParams(location.search).get("zoom") ?? ""`) }
	scale := func() float64 {
		return eval[float64](p, `Number(getComputedStyle(document.querySelector(".treepane")).getPropertyValue("--zs")) || 1`)
	}
	axis := func() string {
		return eval[string](p, `[...document.querySelectorAll(".axis .tick")].map(e => e.textContent).join(" ")`)
	}

	p.open(page)
	p.waitFor("the waterfall", `document.querySelectorAll(".axis .tick").length > 1`, 10*time.Second)
	whole := axis()
	if z := zoomParam(); z != "" {
		t.Fatalf("a trace opens with zoom=%q", z)
	}
	p.click(`[data-action="zoom-in"]`)
	p.waitFor("the zoom in the URL", `new URLSearchParams(location.search).has("zoom")`, 5*time.Second)
	shared := zoomParam()
	from, to, ok := strings.Cut(shared, "-")
	if !ok || from == "" || to == "" {
		t.Fatalf("zoom=%q, want FROM-TO in milliseconds", shared)
	}
	zoomed := axis()

	// Selecting a span keeps it.
	p.selectSpan(`.tree .row[data-id]:nth-child(2)`)
	if z := zoomParam(); z != shared {
		t.Errorf("after selecting a span zoom=%q, want %q", z, shared)
	}
	// A reload shows the same window.
	p.do("reload", chromedp.Reload())
	p.waitFor("the zoomed waterfall", `!document.querySelector("[data-action=zoom-reset]").hidden`, 10*time.Second)
	if s := scale(); math.Abs(s-2) > 0.01 {
		t.Errorf("after a reload the waterfall is zoomed %vx, want 2x", s)
	}
	if a := axis(); a != zoomed {
		t.Errorf("after a reload the axis reads %q, want %q", a, zoomed)
	}
	if z := zoomParam(); z != shared {
		t.Errorf("after a reload zoom=%q, want %q", z, shared)
	}
	// A link with the window, pasted, opens on it.
	p.open("/projects/support-bot")
	p.open(page + "?zoom=" + shared)
	p.waitFor("the shared window", `!document.querySelector("[data-action=zoom-reset]").hidden`, 10*time.Second)
	if a := axis(); a != zoomed {
		t.Errorf("the shared link's axis reads %q, want %q", a, zoomed)
	}
	p.shot("waterfall-zoom-shared")

	// Reset takes it out, and a reload then shows the whole trace.
	p.click(`[data-action="zoom-reset"]`)
	p.waitFor("no zoom in the URL", `!new URLSearchParams(location.search).has("zoom")`, 5*time.Second)
	p.do("reload", chromedp.Reload())
	p.waitFor("the waterfall", `document.querySelectorAll(".axis .tick").length > 1`, 10*time.Second)
	if s := scale(); s != 1 {
		t.Errorf("after Reset and a reload the waterfall is zoomed %vx", s)
	}
	if a := axis(); a != whole {
		t.Errorf("after Reset the axis reads %q, want %q", a, whole)
	}

	// A window that makes no sense is ignored.
	for _, bad := range []string{"abc", "900-100", "0-99999999"} {
		p.open(page + "?zoom=" + bad)
		p.waitFor("the waterfall", `document.querySelectorAll(".axis .tick").length > 1`, 10*time.Second)
		if s := scale(); s != 1 {
			t.Errorf("zoom=%s zooms %vx", bad, s)
		}
	}
}
