package web

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestChooseStep(t *testing.T) {
	// Presets start up to a minute (short ones) or an hour early: their
	// step stays the same.
	for _, tc := range []struct {
		span time.Duration
		want time.Duration
	}{
		{15 * time.Minute, time.Minute}, {16 * time.Minute, time.Minute},
		{time.Hour, 5 * time.Minute}, {61 * time.Minute, 5 * time.Minute},
		{12 * time.Hour, 30 * time.Minute}, {13 * time.Hour, 30 * time.Minute},
		{24 * time.Hour, time.Hour}, {25 * time.Hour, time.Hour},
		{7 * 24 * time.Hour, 6 * time.Hour}, {7*24*time.Hour + time.Hour, 6 * time.Hour},
		{30 * 24 * time.Hour, 24 * time.Hour}, {30*24*time.Hour + time.Hour, 24 * time.Hour},
		{200 * 24 * time.Hour, 7 * 24 * time.Hour}, {4000 * 24 * time.Hour, 30 * 24 * time.Hour},
	} {
		got, err := chooseStep("", int64(tc.span))
		if err != nil || got != tc.want {
			t.Errorf("chooseStep(auto, %v) = %v, %v; want %v", tc.span, got, err, tc.want)
		}
	}
	if got, err := chooseStep("15m", int64(time.Hour)); err != nil || got != 15*time.Minute {
		t.Errorf("chooseStep(15m) = %v, %v", got, err)
	}
	for _, bad := range []string{"2m", "1 h", "-1m"} {
		if _, err := chooseStep(bad, int64(time.Hour)); err == nil {
			t.Errorf("chooseStep(%q) accepted", bad)
		}
	}
	if _, err := chooseStep("1m", int64(30*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "43\u202f200 buckets") {
		t.Errorf("a month by the minute: error %v, want the bucket count", err)
	}
}

func TestNiceStep(t *testing.T) {
	for raw, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 2.2: 2.5, 3: 5, 7: 10, 130: 200, 0.00021: 0.00025, 0: 1} {
		if got := niceStep(raw); math.Abs(got-want) > want*1e-9 {
			t.Errorf("niceStep(%g) = %g, want %g", raw, got, want)
		}
	}
}

func TestStackedBars(t *testing.T) {
	x := xAxis{First: 0, Step: int64(time.Hour), N: 4}
	c := stackedBars(chartSpec{Title: "T", Format: countFormat, Empty: "none"}, x, []chartSeries{
		{"A", "s-a", []float64{1, 0, 3, 0}},
		{"B", "s-b", []float64{1, 0, 0, 0}},
	})
	if c.Empty != "" || len(c.Bars) != 3 || len(c.Columns) != 4 {
		t.Fatalf("chart = %d bars, %d columns, empty %q; want 3 bars in 4 columns", len(c.Bars), len(c.Columns), c.Empty)
	}
	// The tallest stack (3) reaches no higher than the top tick (nice 4 or 5).
	if top := c.YTicks[len(c.YTicks)-1]; top.Pos > c.Bars[2].Y || top.Label == "" {
		t.Errorf("top tick %+v above the tallest bar at %g", top, c.Bars[2].Y)
	}
	a, b := c.Bars[0], c.Bars[1]
	if math.Abs(a.H-b.H) > 0.01 || math.Abs(a.Y-(b.Y+b.H)) > 0.01 {
		t.Errorf("stack of 1 and 1: %+v under %+v, want equal heights, B on top of A", a, b)
	}
	if !strings.HasPrefix(a.Title, "Jan 1 00:00–01:00 UTC · A: 1") {
		t.Errorf("bar title = %q", a.Title)
	}
	if want := "Jan 1 02:00–03:00 UTC\nTotal: 3\nA: 3\nB: 0"; c.Columns[2].Title != want {
		t.Errorf("column title = %q, want %q", c.Columns[2].Title, want)
	}
	if e := stackedBars(chartSpec{Empty: "none", Format: countFormat}, x, []chartSeries{{"A", "s-a", make([]float64, 4)}}); e.Empty != "none" {
		t.Errorf("all-zero chart not empty: %+v", e)
	}
}

func TestLinesBreakAtGaps(t *testing.T) {
	x := xAxis{First: 0, Step: int64(time.Minute), N: 5}
	nan := math.NaN()
	c := lines(chartSpec{Format: scoreFormat, Empty: "none"}, x, []chartSeries{{"s", "s-1", []float64{0.5, 1, nan, 0.25, nan}}}, 0)
	if len(c.Lines) != 1 || len(c.Lines[0].Points) != 3 {
		t.Fatalf("lines = %+v, want one line with 3 points", c.Lines)
	}
	if d := c.Lines[0].D; strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("path %q: want two pieces, the gap unbridged", d)
	}
	if c.Columns[2].Title != "Jan 1 00:02–00:03 UTC\nno data" {
		t.Errorf("gap column title = %q", c.Columns[2].Title)
	}
	if e := lines(chartSpec{Empty: "none", Format: scoreFormat}, x, []chartSeries{{"s", "s-1", missing(5)}}, 0); e.Empty != "none" {
		t.Error("a chart without values is not empty")
	}
}

func TestTimeTicks(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	// A day by the hour: a label every 6 hours, the date at midnight.
	x := newXAxis(day.Add(-2*time.Hour).UnixNano(), day.Add(22*time.Hour).UnixNano(), int64(time.Hour))
	ticks := timeTicks(x, 0, 10)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label+"/"+tk.Sub)
	}
	if got := strings.Join(labels, " "); got != "Nov 20/ 06:00/ 12:00/ 18:00/" {
		t.Errorf("ticks = %s", got)
	}
	if got := bucketLabel(day.Add(23*time.Hour).UnixNano(), int64(time.Hour)); got != "Nov 20 23:00–00:00 UTC" {
		t.Errorf("bucketLabel = %q", got)
	}
	if got := bucketLabel(day.UnixNano(), int64(24*time.Hour)); got != "Fri Nov 20 UTC" {
		t.Errorf("day bucketLabel = %q", got)
	}
}

func TestReportFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{compactCount(950), "950"}, {compactCount(2500), "2.5k"}, {compactCount(12_000), "12k"}, {compactCount(1_250_000), "1.2M"},
		{percentFormat(33.333), "33%"}, {percentFormat(2.5), "2.5%"}, {percentFormat(0), "0%"},
		{bytesSize(512), "512 B"}, {bytesSize(3 << 20), "3 MB"}, {bytesSize(5 << 30), "5 GB"},
		{daysLabel(1), "1 day"}, {daysLabel(0.5), "12 hours"}, {daysLabel(30), "30 days"},
		{rate(2.5), "$2.50"}, {rate(0.075), "$0.075"}, {rate(0.6), "$0.60"}, {rate(10), "$10.00"},
		{stepName(5 * time.Minute), "5 min"}, {stepName(24 * time.Hour), "1 day"},
		{joinNames([]string{"a", "b", "c", "d", "e"}), "a, b, c and 2 more"}, {host("https://www.anthropic.com/pricing"), "anthropic.com"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
