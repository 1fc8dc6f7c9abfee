package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/usd"
)

// steps are the bucket widths the Metrics tab offers, by name.
var steps = []struct {
	Name string
	Dur  time.Duration
}{
	{"1m", time.Minute}, {"5m", 5 * time.Minute}, {"15m", 15 * time.Minute}, {"30m", 30 * time.Minute},
	{"1h", time.Hour}, {"3h", 3 * time.Hour}, {"6h", 6 * time.Hour}, {"12h", 12 * time.Hour},
	{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour},
}

// Bucket counts: the automatic step gives at most autoBuckets (15m → 1 min,
// 1h → 5 min, 12h → 30 min, 1d → 1 h, 7d → 6 h, 30d → 1 d), enough bars to
// see a trend and few enough to read each one; a chosen step may give up
// to maxBuckets.
const (
	autoBuckets = 36
	maxBuckets  = 400
)

// chooseStep picks the bucket width for a range of span nanoseconds: the
// named one, or the smallest that keeps the chart readable.
func chooseStep(name string, span int64) (time.Duration, error) {
	if name == "" {
		for _, s := range steps {
			if span/int64(s.Dur) < autoBuckets {
				return s.Dur, nil
			}
		}
		return steps[len(steps)-1].Dur, nil
	}
	for _, s := range steps {
		if s.Name != name {
			continue
		}
		if n := span / int64(s.Dur); n > maxBuckets {
			return 0, fmt.Errorf("A step of %s over this range makes %s buckets; the most a chart draws is %d. Choose a longer step or a shorter range.",
				name, groupDigits(n), maxBuckets)
		}
		return s.Dur, nil
	}
	return 0, fmt.Errorf("%q is not a step the charts know. Use one of 1m, 5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d, 7d or 30d, or leave it out for one that suits the range.", name)
}

// stepName names a bucket width for people: "5 min", "1 h", "1 day".
func stepName(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		if d == 24*time.Hour {
			return "1 day"
		}
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return strconv.Itoa(int(d/time.Minute)) + " min"
}

type stepOption struct {
	Name, URL string
	Current   bool
}

type metricsPage struct {
	projectPage
	Sub      string // "time" or "prompts": the Metrics tab's two views
	StepName string
	Steps    []stepOption
	Auto     bool
	Traces   int64
	Charts   []chart
	// FittedFrom is where the axis starts when it was fitted to the data,
	// later than the range (unix ns); 0 when it was not.
	FittedFrom int64
}

// FittedLabel is FittedFrom for the toolbar: "Dec 7 08:00".
func (mp metricsPage) FittedLabel() string {
	return time.Unix(0, mp.FittedFrom).UTC().Format("Jan 2 15:04")
}

// resolvedRange is the page's time range with its open ends closed: an
// open start begins when the project was created, an open end is now.
func (h *Handler) resolvedRange(page projectPage) (start, end int64) {
	start, end = page.Range.StartNs(), page.Range.EndNs()
	if start == 0 {
		start = page.P.CreatedAt
	}
	if end == 0 {
		end = h.now().UnixNano()
	}
	if end <= start {
		end = start + int64(time.Minute)
	}
	return start, end
}

// projectMetrics draws a project's traces, tokens, cost and annotation
// scores over the time range.
func (h *Handler) projectMetrics(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "metrics")
	if !ok {
		return
	}
	ctx := r.Context()
	start, end := h.resolvedRange(page)
	stepParam := r.URL.Query().Get("step")
	step, err := chooseStep(stepParam, end-start)
	if err != nil {
		h.badRequest(w, r, http.StatusBadRequest, page.P.Name, err.Error(),
			page.URL.With("step", ""), "Metrics with an automatic step")
		return
	}
	bucket := int64(step)
	series, scores, err := h.metricSeries(ctx, page.P.ID, start, page.Range.EndNs(), bucket)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	// The axis fits the data: a 7-day range over a project two hours old
	// draws two hours, in buckets that suit them, not a week of nothing.
	if first, ok := firstData(series, scores); ok && stepParam == "" && page.Range.Preset != "custom" && first-start > (end-start)/3 {
		fitted := first
		if s2, err := chooseStep("", end-fitted); err == nil {
			fitted -= fitted % int64(s2)
			if series2, scores2, err := h.metricSeries(ctx, page.P.ID, fitted, page.Range.EndNs(), int64(s2)); err == nil {
				start, step, bucket, series, scores = fitted, s2, int64(s2), series2, scores2
				// The finer buckets place the first data closer.
				if f, ok := firstData(series, scores); ok {
					start = f
				}
			}
		}
	}
	mp := metricsPage{projectPage: page, Sub: "time", StepName: stepName(step), Auto: stepParam == "", Traces: series.Traces}
	if start > page.Range.StartNs() && page.Range.StartNs() > 0 {
		mp.FittedFrom = start
	}
	for _, s := range steps {
		if n := (end - start) / int64(s.Dur); n <= maxBuckets && n >= 1 {
			mp.Steps = append(mp.Steps, stepOption{Name: s.Name, URL: page.URL.With("step", s.Name), Current: stepParam == s.Name})
		}
	}
	x := newXAxis(start, end, bucket)
	mp.Charts = metricsCharts(x, series, scores, stepName(step))
	linkBuckets(mp.Charts, x, series, scores, func(i int, errors bool) string {
		from, to := time.Unix(0, x.start(i)).UTC(), time.Unix(0, x.start(i)+x.Step).UTC()
		u := page.URL.At(projectURL(page.P.Name), "range", "custom", "start", from.Format(customLayout),
			"end", to.Format(customLayout), "step", "", "filter", "", "q", "", "errors", "")
		if errors {
			u = page.URL.At(projectURL(page.P.Name), "range", "custom", "start", from.Format(customLayout),
				"end", to.Format(customLayout), "step", "", "filter", "", "q", "", "errors", "1")
		}
		return u
	})
	// The retrieval chart's points count retrievals, not traces: it is
	// added after the buckets are linked.
	docs, err := h.store.DocumentScores(ctx, page.P.ID, start, page.Range.EndNs())
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	if c := retrievalChart(x, docs); c != nil {
		mp.Charts = append(mp.Charts, *c)
	}
	h.render(w, r, http.StatusOK, "metrics", mp)
}

func (h *Handler) metricSeries(ctx context.Context, projectID, start, end, bucket int64) (store.TraceSeries, []store.ScorePoint, error) {
	series, err := h.store.TraceSeries(ctx, projectID, start, end, bucket)
	if err != nil {
		return series, nil, err
	}
	scores, err := h.store.AnnotationScoreSeries(ctx, projectID, start, end, bucket)
	return series, scores, err
}

// firstData is the start of the first bucket holding a trace or a score.
func firstData(ts store.TraceSeries, scores []store.ScorePoint) (int64, bool) {
	first, ok := int64(math.MaxInt64), false
	for _, b := range ts.Buckets {
		if b.Traces > 0 && b.Start < first {
			first, ok = b.Start, true
		}
	}
	for _, p := range scores {
		if p.Start < first {
			first, ok = p.Start, true
		}
	}
	return first, ok
}

// linkBuckets tells in every bucket's title how many traces (spans, for
// the scores) its figures come from, and makes each bucket open the
// traces that started in it: the error rate's opens those that failed.
func linkBuckets(charts []chart, x xAxis, ts store.TraceSeries, scores []store.ScorePoint, url func(i int, errors bool) string) {
	traces, scored := make([]int64, x.N), make([]int64, x.N)
	for _, b := range ts.Buckets {
		if i := x.index(b.Start); i >= 0 {
			traces[i] = b.Traces
		}
	}
	for _, p := range scores {
		if i := x.index(p.Start); i >= 0 {
			scored[i] += p.Spans
		}
	}
	for c := range charts {
		n, what := traces, "traces"
		if charts[c].Title == "Annotation scores" {
			n, what = scored, "scored spans"
		}
		for i := range charts[c].Columns {
			col := &charts[c].Columns[i]
			col.Title += "\nn = " + groupDigits(n[i]) + " " + what
			if traces[i] > 0 {
				col.URL = url(i, charts[c].Title == "Error rate")
			}
		}
	}
}

// metricsCharts lays out the Metrics tab's charts, in reading order.
func metricsCharts(x xAxis, ts store.TraceSeries, scores []store.ScorePoint, per string) []chart {
	// Counts and sums are 0 in a bucket without traces; rates and
	// percentiles have no value there, and their lines break.
	zeros := func() []float64 { return make([]float64, x.N) }
	ok, errs, unset := zeros(), zeros(), zeros()
	prompt, cached, completion, reasoning, cost := zeros(), zeros(), zeros(), zeros(), zeros()
	rate, p50, p90, p99 := missing(x.N), missing(x.N), missing(x.N), missing(x.N)
	var unpriced int64
	for _, b := range ts.Buckets {
		i := x.index(b.Start)
		if i < 0 {
			continue
		}
		ok[i], errs[i], unset[i] = float64(b.OK), float64(b.Errors), float64(b.Unset)
		rate[i] = float64(b.Errors) / float64(b.Traces) * 100
		if b.Latency.Sample > 0 {
			p50[i], p90[i], p99[i] = float64(b.Latency.P50), float64(b.Latency.P90), float64(b.Latency.P99)
		}
		// Prompt counts include cache reads and completion counts include
		// reasoning (OpenInference), so the stack shows each part once.
		t := b.Tokens
		cached[i], reasoning[i] = float64(t.CacheRead), float64(t.Reasoning)
		prompt[i] = float64(max(t.Prompt-t.CacheRead, 0))
		completion[i] = float64(max(t.Completion-t.Reasoning, 0))
		cost[i] = b.Cost
		unpriced += b.Unpriced
	}
	noTraces := "No traces started in this range."
	traces := stackedBars(chartSpec{Title: "Traces", Unit: "started per " + per, Format: countFormat, Tick: compactCount, MinTop: 4, Empty: noTraces}, x,
		[]chartSeries{{"OK", "s-ok", ok}, {"Error", "s-err", errs}, {"Unset", "s-unset", unset}})
	errorRate := lines(chartSpec{Title: "Error rate", Unit: "% of traces", Format: percentFormat, MinTop: 5, Empty: noTraces}, x,
		[]chartSeries{{"Error rate", "s-err", rate}}, 0)
	latency := lines(chartSpec{Title: "Latency", Unit: "trace duration", Format: durationFormat, Empty: noTraces}, x,
		[]chartSeries{{"p50", "s-p50", p50}, {"p90", "s-p90", p90}, {"p99", "s-p99", p99}}, 0)
	if ts.Sampled() {
		latency.Note = "Sampled: percentiles over the newest " + groupDigits(ts.LatencySample) + " of " + plural(ts.Traces, "trace", "traces")
	}
	tokens := stackedBars(chartSpec{Title: "Tokens", Unit: "of model calls, per " + per, Format: countFormat, Tick: compactCount, MinTop: 4,
		Empty: "No tokens in this range."}, x,
		[]chartSeries{{"Prompt", "s-prompt", prompt}, {"Cache read", "s-cache", cached}, {"Completion", "s-completion", completion}, {"Reasoning", "s-reasoning", reasoning}})
	tokens.Note = "Prompt without cache reads, completion without reasoning"
	// A millionth of a dollar: the axis of a few cheap calls still shows them.
	costs := stackedBars(chartSpec{Title: "Cost", Unit: "USD per " + per, Format: usd.Format, Tick: usd.Format, MinTop: 1e-6,
		Empty: "No priced model calls in this range."}, x, []chartSeries{{"Cost", "s-cost", cost}})
	if unpriced > 0 {
		costs.Note = plural(unpriced, "model call has", "model calls have") + " no price:"
		costs.NoteURL, costs.NoteLink = "/prices", "add one"
	}
	return []chart{traces, errorRate, latency, tokens, costs, scoreChart(x, scores)}
}

// scoreChart draws one line per annotation name: the mean score per bucket.
func scoreChart(x xAxis, points []store.ScorePoint) chart {
	byName := map[string][]float64{}
	var names []string
	for _, p := range points {
		i := x.index(p.Start)
		if i < 0 {
			continue
		}
		v, ok := byName[p.Name]
		if !ok {
			v = missing(x.N)
			byName[p.Name] = v
			names = append(names, p.Name)
		}
		v[i] = p.Mean
	}
	slices.Sort(names)
	var ss []chartSeries
	for i, n := range names {
		ss = append(ss, chartSeries{Label: n, Class: "s-" + strconv.Itoa(i%6+1), Values: byName[n]})
	}
	c := lines(chartSpec{Title: "Annotation scores", Unit: "mean score per span", Format: scoreFormat,
		Empty: "No span annotations with a score in this range."}, x, ss, 0)
	return c
}
