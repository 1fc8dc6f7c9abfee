package browser_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestMetricsFitTheDataAndOpenABucket is a person reading the Metrics tab
// of a young project over the default week: the axis starts where the data
// does, every bucket says how many traces it stands for, and a click on a
// bucket lists those traces.
func TestMetricsFitTheDataAndOpenABucket(t *testing.T) {
	onEachBackend(t, metricsFitTheDataAndOpenABucket)
}

func metricsFitTheDataAndOpenABucket(t *testing.T, srv *e2etest.Server) {
	loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)

	p.open("/projects/support-bot/metrics")
	p.waitFor("the charts", `!!document.querySelector(".chart svg.plot")`, 10*time.Second)
	// About ten hours of data in a 7-day range: half-hour buckets from the
	// first trace, not 6-hour ones over the week.
	p.see(".toolbar", "7d (from", "buckets of 30 min (auto)")
	if i := eval[int](p, `[...document.querySelectorAll('.chart[data-chart="Traces"] .col')].findIndex(c => c.dataset.href)`); i != 0 {
		t.Errorf("the first bucket with traces is bucket %d: the axis starts before the data", i)
	}
	p.shot("51-metrics-fitted")

	traces := `document.querySelector('.chart[data-chart="Traces"]')`
	title := eval[string](p, traces+`.querySelector(".col[data-href]").querySelector("title").textContent`)
	m := regexp.MustCompile(`n = (\d+) traces`).FindStringSubmatch(title)
	if m == nil {
		t.Fatalf("a bucket's title is %q, want it to say n = … traces", title)
	}
	n, _ := strconv.Atoi(m[1])
	if empty := eval[string](p, traces+`.querySelector(".col:not([data-href]) title")?.textContent ?? ""`); empty != "" && !regexp.MustCompile(`n = 0 traces`).MatchString(empty) {
		t.Errorf("an empty bucket's title is %q, want n = 0", empty)
	}

	// A click on that bucket lists its traces.
	box := eval[[]float64](p, `(r => [r.x + r.width / 2, r.y + r.height / 2])(`+traces+`.querySelector(".col[data-href]").getBoundingClientRect())`)
	p.do("click the bucket", chromedp.MouseClickXY(box[0], box[1]))
	p.waitFor("the bucket's traces", `location.pathname === "/projects/support-bot" && location.search.includes("range=custom")`, 10*time.Second)
	if rows := eval[int](p, `document.querySelectorAll("table.grid tbody tr").length`); rows != n {
		t.Errorf("the bucket of %d traces lists %d", n, rows)
	}
	p.see(".range summary", "–")

	// The error rate's buckets open the failed traces.
	p.open("/projects/support-bot/metrics")
	p.waitFor("the charts", `!!document.querySelector(".chart svg.plot")`, 10*time.Second)
	if href := eval[string](p, `document.querySelector('.chart[data-chart="Error rate"] .col[data-href]').dataset.href`); !regexp.MustCompile(`errors=1`).MatchString(href) {
		t.Errorf("an error-rate bucket opens %q, want the failed traces", href)
	}
}
