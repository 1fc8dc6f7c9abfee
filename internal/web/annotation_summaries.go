package web

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// maxSummaryLabels is how many labels a header summary names; the rest
// are counted.
const maxSummaryLabels = 3

// annotationSummary is one annotation name in the project header. Each
// label links to the list filtered by it.
type annotationSummary struct {
	Trace     bool // trace annotations; else span annotations
	Name      string
	Count     int64
	Entities  int64
	HasScore  bool
	MeanScore string
	Labels    []labelView
	MoreLabel int    // labels not shown
	URL       string // the list filtered to what has this annotation
}

type labelView struct {
	Label string
	Count int64
	Pct   float64 // 0–100
	Shade int     // 0–3, for the share bar
	URL   string
}

// PctText is the share as people read it: 75%, 4.2%, <1%.
func (l labelView) PctText() string {
	switch {
	case l.Pct > 0 && l.Pct < 1:
		return "<1%"
	case l.Pct < 10:
		return trimZero(strconv.FormatFloat(math.Round(l.Pct*10)/10, 'f', 1, 64)) + "%"
	}
	return strconv.FormatFloat(math.Round(l.Pct), 'f', 0, 64) + "%"
}

// Kind is what the summary is about, in words.
func (s annotationSummary) Kind() string {
	if s.Trace {
		return "traces"
	}
	return "spans"
}

// annotationSummaries reads the header summaries of the project's span and
// trace annotations over the page's time range.
func (h *Handler) annotationSummaries(ctx context.Context, page *projectPage) ([]annotationSummary, error) {
	var out []annotationSummary
	for _, kind := range []store.AnnotationKind{store.SpanAnnotation, store.TraceAnnotation} {
		sums, err := h.store.AnnotationSummaries(ctx, page.P.ID, kind, page.Range.StartNs(), page.Range.EndNs())
		if err != nil {
			return nil, err
		}
		for _, s := range sums {
			out = append(out, summaryView(page, kind == store.TraceAnnotation, s))
		}
	}
	return out, nil
}

func summaryView(page *projectPage, trace bool, s store.AnnotationSummary) annotationSummary {
	v := annotationSummary{Trace: trace, Name: s.Name, Count: s.Count, Entities: s.Entities, HasScore: s.ScoreCount > 0}
	if v.HasScore {
		v.MeanScore = formatScore(s.MeanScore)
	}
	access := "annotations[" + pyString(s.Name) + "]"
	path := projectURL(page.P.Name) + "/spans"
	if trace {
		// Trace annotations filter traces: the filter language reaches
		// them from every span of the trace, the root among them.
		access = "trace_annotations[" + pyString(s.Name) + "]"
		path = projectURL(page.P.Name)
	}
	v.URL = filterLink(page.URL, path, access)
	for i, l := range s.Labels {
		if i == maxSummaryLabels {
			v.MoreLabel = len(s.Labels) - i
			break
		}
		v.Labels = append(v.Labels, labelView{
			Label: l.Label, Count: l.Count, Pct: l.Fraction * 100, Shade: i,
			URL: filterLink(page.URL, path, access+".label == "+pyString(l.Label)),
		})
	}
	return v
}

// filterLink is a list of the project filtered by expr, over the same time
// range, from its first page.
func filterLink(u pageURL, path, expr string) string {
	return u.At(path, "filter", expr, "q", "", "sort", "", "dir", "", "kind", "", "roots", "", "status", "")
}

// pyString writes s as a string literal of the filter language (Python's).
func pyString(s string) string {
	if !strings.ContainsAny(s, `'\`) && !strings.ContainsAny(s, "\n\r") {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range s {
		switch c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
