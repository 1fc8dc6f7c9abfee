package web

import (
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

func TestLinkBuckets(t *testing.T) {
	hour := int64(time.Hour)
	x := xAxis{First: 10 * hour, Step: hour, N: 3}
	ts := store.TraceSeries{Buckets: []store.TraceBucket{{Start: 10 * hour, Traces: 4, OK: 4}, {Start: 12 * hour, Traces: 1, Errors: 1}}}
	scores := []store.ScorePoint{{Start: 12 * hour, Name: "a", Mean: 1, Spans: 2}, {Start: 12 * hour, Name: "b", Mean: 0, Spans: 3}}
	charts := metricsCharts(x, ts, scores, "1 h")
	linkBuckets(charts, x, ts, scores, func(i int, errors bool) string {
		if errors {
			return "err" + string(rune('0'+i))
		}
		return "all" + string(rune('0'+i))
	})
	for _, c := range charts {
		if len(c.Columns) != 3 {
			t.Fatalf("%s: %d columns", c.Title, len(c.Columns))
		}
		want := []string{"n = 4 traces", "n = 0 traces", "n = 1 traces"}
		urls := []string{"all0", "", "all2"}
		switch c.Title {
		case "Annotation scores":
			want = []string{"n = 0 scored spans", "n = 0 scored spans", "n = 5 scored spans"}
		case "Error rate":
			urls = []string{"err0", "", "err2"}
		}
		for i, col := range c.Columns {
			if !strings.HasSuffix(col.Title, "\n"+want[i]) {
				t.Errorf("%s bucket %d: title %q, want it to end with %q", c.Title, i, col.Title, want[i])
			}
			if col.URL != urls[i] {
				t.Errorf("%s bucket %d opens %q, want %q", c.Title, i, col.URL, urls[i])
			}
		}
	}
}

func TestFirstData(t *testing.T) {
	if _, ok := firstData(store.TraceSeries{}, nil); ok {
		t.Error("no data has a first bucket")
	}
	got, ok := firstData(store.TraceSeries{Buckets: []store.TraceBucket{{Start: 50, Traces: 0}, {Start: 70, Traces: 2}}},
		[]store.ScorePoint{{Start: 60, Spans: 1}})
	if !ok || got != 60 {
		t.Errorf("firstData = %d, %v; want 60", got, ok)
	}
}
