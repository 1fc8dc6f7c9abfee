package browser_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// placeholderLooks reads, for every visible field with a placeholder, its
// placeholder, whether that is drawn in italic, its colour and the
// colour a typed value has.
const placeholderLooks = `[...document.querySelectorAll("input[placeholder], textarea[placeholder]")].filter(e => e.checkVisibility()).map(e => {
	const ph = getComputedStyle(e, "::placeholder"), v = getComputedStyle(e);
	return [e.name || e.type, e.placeholder, ph.fontStyle, ph.color, v.color];
})`

// TestPlaceholdersReadAsHints is a person looking at an empty filter box or
// annotation form: what it shows reads as a hint, not as a value typed, in
// the light and the dark theme.
func TestPlaceholdersReadAsHints(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	d := loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)
	for _, dark := range []bool{false, true} {
		p.darkMode(dark)
		for _, path := range []string{"/projects/support-bot", "/projects/support-bot/spans", "/projects/support-bot/sessions",
			"/projects/support-bot/traces/" + d.agent, "/prices"} {
			p.open(path)
			if strings.Contains(path, "/traces/") {
				p.click(`.detail .dtabs a[data-tab="annotations"]`)
				p.waitFor("the annotation form", `!!document.querySelector(".detail .annot-form input[name=name]")?.checkVisibility()`, 10*time.Second)
			}
			fields := eval[[][]string](p, placeholderLooks)
			if len(fields) == 0 {
				t.Errorf("%s: no field with a placeholder", path)
			}
			for _, f := range fields {
				name, text, style, colour, typed := f[0], f[1], f[2], f[3], f[4]
				if style != "italic" || colour == typed {
					t.Errorf("%s (dark %v): the placeholder %q of %s is %s in %s, a value in %s: it looks typed", path, dark, text, name, style, colour, typed)
				}
				if name == "filter" && !strings.Contains(text, "e.g. ") {
					t.Errorf("%s: the filter's placeholder %q is no example", path, text)
				}
			}
		}
		if dark {
			p.open("/projects/support-bot/spans")
			p.shot("placeholders-dark")
		}
	}
}
