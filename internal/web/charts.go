package web

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"
)

// A chart is laid out here, in Go, down to the last coordinate; its
// template only draws what it is given. That keeps the arithmetic testable
// and the page free of a chart library: the SVG is in the HTML, readable
// before any script runs, with a <title> on every bar and point.

// Chart geometry, in SVG user units. The SVG scales to its box; at the
// Metrics tab's two columns on a laptop screen a unit is about a pixel.
const (
	chartW      = 640
	chartH      = 210
	chartLeft   = 58 // room for the y tick labels
	chartRight  = 14
	chartTop    = 10
	chartBottom = 36 // room for two lines of x tick labels
)

// chart is what the "chart" template draws.
type chart struct {
	Title string
	Unit  string // what the y axis counts, shown above it
	// Note qualifies the data (sampled, rounded); NoteURL links it.
	Note, NoteURL, NoteLink string
	// Empty, when set, replaces the plot: there is nothing to draw.
	Empty         string
	W, H          int
	Left, Right   float64 // plot area
	Top, Bottom   float64
	YTicks        []chartTick
	XTicks        []chartTick
	Columns       []chartColumn
	Bars          []chartBar
	Lines         []chartLine
	Legend        []chartLegend
	ColumnW       float64
	ZeroY         float64
	PlotH         float64 // Bottom - Top
	YLabelX       float64 // where the y tick labels end
	XLabelY, XSub float64 // the baselines of the two lines of x tick labels
	First, Step   int64   // the first bucket (unix ns) and the bucket width, for scripts
	BarsAreStacks bool
}

type chartTick struct {
	Pos   float64
	Label string
	Sub   string // a second line under an x tick: the date when it changes
}

// column is one bucket's full-height hover area; its title sums up every
// series in the bucket.
type chartColumn struct {
	X, W  float64
	Index int
	Title string
	URL   string // what a click on the bucket opens, if anything
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
	Index      int
}

type chartLine struct {
	Class  string
	Label  string
	D      string // SVG path; a missing value breaks the line
	Points []chartPoint
}

type chartPoint struct {
	X, Y  float64
	Title string
	Index int
}

type chartLegend struct {
	Label, Class string
}

// series is one named sequence of values, one per bucket; NaN is no value.
type chartSeries struct {
	Label  string
	Class  string
	Values []float64
}

// xAxis is the buckets a chart spans: from the bucket holding the range's
// start to the one holding its end.
type xAxis struct {
	First, Step int64 // unix ns
	N           int
}

func newXAxis(start, end, step int64) xAxis {
	first := start - start%step
	last := (end - 1) - (end-1)%step
	return xAxis{First: first, Step: step, N: int((last-first)/step) + 1}
}

// index is the column of the bucket starting at t, or -1 outside the axis.
func (x xAxis) index(t int64) int {
	if t < x.First {
		return -1
	}
	i := int((t - x.First) / x.Step)
	if i >= x.N {
		return -1
	}
	return i
}

func (x xAxis) start(i int) int64 { return x.First + int64(i)*x.Step }

// valueFormat writes a value for a tick or a title.
type valueFormat func(float64) string

// chartSpec is what differs between charts of one kind.
type chartSpec struct {
	Title, Unit string
	Format      valueFormat // titles and tooltips
	Tick        valueFormat // y tick labels; Format when nil
	MinTop      float64     // the y axis reaches at least this
	Empty       string      // shown when every value is missing or zero
	// Width and Height override the chart's size in SVG units: a chart
	// drawn wider keeps its text the same size on a wider page.
	Width, Height int
}

func (c *chart) frame(spec chartSpec, x xAxis) {
	c.Title, c.Unit = spec.Title, spec.Unit
	c.W, c.H = cmp.Or(spec.Width, chartW), cmp.Or(spec.Height, chartH)
	c.Left, c.Right = chartLeft, float64(c.W-chartRight)
	c.Top, c.Bottom = chartTop, float64(c.H-chartBottom)
	c.PlotH, c.YLabelX, c.XLabelY, c.XSub = c.Bottom-c.Top, c.Left-7, c.Bottom+15, c.Bottom+28
	c.ColumnW = (c.Right - c.Left) / float64(x.N)
	c.First, c.Step = x.First, x.Step
	c.XTicks = timeTicks(x, c.Left, c.ColumnW)
	for i := range x.N {
		c.Columns = append(c.Columns, chartColumn{X: c.Left + float64(i)*c.ColumnW, W: c.ColumnW, Index: i,
			Title: bucketLabel(x.start(i), x.Step)})
	}
}

// chartScale maps values in [lo, hi] onto the plot's height.
type chartScale struct {
	lo, hi, top, bottom float64
}

func (s chartScale) y(v float64) float64 {
	return s.bottom - (v-s.lo)/(s.hi-s.lo)*(s.bottom-s.top)
}

func (c *chart) yAxis(spec chartSpec, lo, hi float64) chartScale {
	hi = max(hi, spec.MinTop)
	step := niceStep((hi - lo) / 4)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step-1e-9) * step
	if hi <= lo {
		hi = lo + step
	}
	s := chartScale{lo: lo, hi: hi, top: c.Top, bottom: c.Bottom}
	format := spec.Tick
	if format == nil {
		format = spec.Format
	}
	// Ticks are rounded to the step's precision, so that float steps write
	// 0.3 and not 0.30000000000000004.
	unit := math.Pow(10, math.Floor(math.Log10(step))-1)
	for i := 0; lo+float64(i)*step <= hi+step/2; i++ {
		v := cleanZero(math.Round((lo+float64(i)*step)/unit) * unit)
		c.YTicks = append(c.YTicks, chartTick{Pos: s.y(v), Label: format(v)})
	}
	c.ZeroY = s.y(math.Max(lo, 0))
	return s
}

// cleanZero turns the -0 and 1e-17 that float steps leave into 0.
func cleanZero(v float64) float64 {
	if math.Abs(v) < 1e-12 {
		return 0
	}
	return v
}

// niceStep rounds a raw tick step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// stackedBars draws each bucket's series on top of each other, in order.
func stackedBars(spec chartSpec, x xAxis, ss []chartSeries) chart {
	var c chart
	c.frame(spec, x)
	c.BarsAreStacks = true
	top := 0.0
	for i := range x.N {
		sum := 0.0
		for _, s := range ss {
			if v := s.Values[i]; !math.IsNaN(v) && v > 0 {
				sum += v
			}
		}
		top = max(top, sum)
	}
	for _, s := range ss {
		c.Legend = append(c.Legend, chartLegend{Label: s.Label, Class: s.Class})
	}
	if top == 0 {
		c.Empty = spec.Empty
		return c
	}
	scale := c.yAxis(spec, 0, top)
	w := barWidth(c.ColumnW)
	for i := range x.N {
		base := 0.0
		var parts []string
		for _, s := range ss {
			v := s.Values[i]
			if math.IsNaN(v) {
				continue
			}
			parts = append(parts, s.Label+": "+spec.Format(v))
			if v <= 0 {
				continue
			}
			y0, y1 := scale.y(base), scale.y(base+v)
			c.Bars = append(c.Bars, chartBar{
				X: c.Left + float64(i)*c.ColumnW + (c.ColumnW-w)/2, Y: y1, W: w, H: math.Max(y0-y1, 0.5),
				Class: s.Class, Index: i,
				Title: c.Columns[i].Title + " · " + s.Label + ": " + spec.Format(v),
			})
			base += v
		}
		if len(ss) > 1 {
			parts = append([]string{"Total: " + spec.Format(base)}, parts...)
		}
		c.Columns[i].Title += tooltipLines(parts)
	}
	return c
}

// lines draws each series as a line through its buckets' values.
func lines(spec chartSpec, x xAxis, ss []chartSeries, lo float64) chart {
	var c chart
	c.frame(spec, x)
	hi, found := lo, false
	for _, s := range ss {
		c.Legend = append(c.Legend, chartLegend{Label: s.Label, Class: s.Class})
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				hi, lo, found = max(hi, v), min(lo, v), true
			}
		}
	}
	if !found {
		c.Empty = spec.Empty
		return c
	}
	scale := c.yAxis(spec, lo, hi)
	parts := make([][]string, x.N)
	for _, s := range ss {
		l := chartLine{Class: s.Class, Label: s.Label}
		var d strings.Builder
		pen := false
		for i, v := range s.Values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			px, py := c.Left+(float64(i)+0.5)*c.ColumnW, scale.y(v)
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			d.WriteString(coord(px) + " " + coord(py))
			pen = true
			parts[i] = append(parts[i], s.Label+": "+spec.Format(v))
			l.Points = append(l.Points, chartPoint{X: px, Y: py, Index: i,
				Title: c.Columns[i].Title + " · " + s.Label + ": " + spec.Format(v)})
		}
		l.D = d.String()
		c.Lines = append(c.Lines, l)
	}
	for i := range c.Columns {
		c.Columns[i].Title += tooltipLines(parts[i])
	}
	return c
}

func tooltipLines(parts []string) string {
	if len(parts) == 0 {
		return "\nno data"
	}
	return "\n" + strings.Join(parts, "\n")
}

// barWidth leaves a gap between bars, and never less than a sliver of a bar.
func barWidth(col float64) float64 {
	return math.Max(math.Min(col*0.72, col-1), math.Min(col, 1))
}

// coord writes an SVG coordinate to a tenth of a unit: finer is invisible
// and only makes the page longer.
func coord(v float64) string {
	return strconv.FormatFloat(cleanZero(math.Round(v*10)/10), 'f', -1, 64)
}

// timeTicks labels about seven buckets of the axis, on round times: every
// k-th bucket counted from the epoch, so hours land on 00:00, 04:00, ….
func timeTicks(x xAxis, left, colW float64) []chartTick {
	k := int64(math.Ceil(float64(x.N) / 7))
	k = roundTickEvery(k, x.Step)
	var out []chartTick
	prevDay := ""
	for i := range x.N {
		t := x.start(i)
		if (t/x.Step)%k != 0 {
			continue
		}
		at := time.Unix(0, t).UTC()
		tk := chartTick{Pos: left + (float64(i)+0.5)*colW}
		day := at.Format("Jan 2")
		switch {
		case x.Step >= int64(24*time.Hour):
			tk.Label = day
		case at.Hour() == 0 && at.Minute() == 0:
			// Midnight is the day itself.
			tk.Label = day
		default:
			tk.Label = at.Format("15:04")
			if day != prevDay {
				tk.Sub = day
			}
		}
		prevDay = day
		out = append(out, tk)
	}
	return out
}

// roundTickEvery rounds a label interval (in buckets) to one that reads
// well for the bucket width: 15 or 30 minutes, 2, 3, 6 or 12 hours, a week.
func roundTickEvery(k, step int64) int64 {
	if k <= 1 {
		return 1
	}
	span := k * step
	for _, d := range []time.Duration{
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour,
	} {
		if int64(d) >= span && int64(d)%step == 0 {
			return int64(d) / step
		}
	}
	return k
}

// bucketLabel names a bucket for a tooltip: "Nov 21 14:05–14:10 UTC".
func bucketLabel(t, step int64) string {
	from := time.Unix(0, t).UTC()
	to := from.Add(time.Duration(step))
	if step >= int64(24*time.Hour) {
		if step == int64(24*time.Hour) {
			return from.Format("Mon Jan 2") + " UTC"
		}
		return from.Format("Jan 2") + "–" + to.Add(-time.Nanosecond).Format("Jan 2") + " UTC"
	}
	end := to.Format("15:04")
	if to.Day() != from.Day() && end != "00:00" {
		end = to.Format("Jan 2 15:04")
	}
	return from.Format("Jan 2 15:04") + "–" + end + " UTC"
}

// missing is n values, none of them there yet.
func missing(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}
