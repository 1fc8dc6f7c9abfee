package web

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// maxErrorGroups bounds the groups the page lists; the rest are counted.
const maxErrorGroups = 100

// errorGroupBuckets is how many bars a group's sparkline has.
const errorGroupBuckets = 30

// errorGroupRow is one group as the page shows it: the newest failure's
// type and message, the pattern its failures share, and a link to them.
type errorGroupRow struct {
	store.ErrorGroup
	Type, Message string
	Pattern       string
	SpansURL      string
	Spark         sparkline
}

type errorGroupsPage struct {
	projectPage
	Groups []errorGroupRow
	// More counts the groups past maxErrorGroups; Failures counts all.
	More     int
	Failures int64
}

// projectErrors groups the project's failures in the time range by
// exception type and normalized message (span.ErrorGroup), most first.
func (h *Handler) projectErrors(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "errors")
	if !ok {
		return
	}
	ctx := r.Context()
	start, end := page.Range.StartNs(), page.Range.EndNs()
	if end == 0 {
		end = time.Now().UnixNano()
	}
	if start == 0 {
		start = min(page.P.CreatedAt, end-1) // a range open at its start: the project's whole life
	}
	groups, err := h.store.ErrorGroups(ctx, store.ErrorGroupQuery{ProjectID: page.P.ID, StartTime: start, EndTime: end, Buckets: errorGroupBuckets})
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	ep := errorGroupsPage{projectPage: page}
	for _, g := range groups {
		ep.Failures += g.Count
	}
	if len(groups) > maxErrorGroups {
		ep.More, groups = len(groups)-maxErrorGroups, groups[:maxErrorGroups]
	}
	ids := make([]int64, len(groups))
	for i, g := range groups {
		ids[i] = g.LatestRowID
	}
	recs, err := h.store.SpansByRowID(ctx, ids, false)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	latest := make(map[int64]store.SpanRecord, len(recs))
	for _, rec := range recs {
		latest[rec.RowID] = rec
	}
	width := (end - start + errorGroupBuckets - 1) / errorGroupBuckets
	spansPath := projectURL(page.P.Name) + "/spans"
	for _, g := range groups {
		row := errorGroupRow{ErrorGroup: g, Spark: errorSpark(g.Series, start, width),
			SpansURL: page.URL.At(spansPath, "filter", "error_group == '"+g.Key+"'",
				"q", "", "kind", "", "roots", "", "status", "", "sort", "", "dir", "", "errors", "")}
		if rec, ok := latest[g.LatestRowID]; ok {
			e := errorOf(rec)
			row.Type, row.Message = e.Type, e.Message
			row.Pattern = span.NormalizeErrorMessage(e.Message)
		}
		ep.Groups = append(ep.Groups, row)
	}
	h.render(w, r, http.StatusOK, "errors", ep)
}

// errorSpark draws a group's failures per stretch of the range.
func errorSpark(series []int64, start, width int64) sparkline {
	s := sparkline{W: 150, H: 22}
	var top int64
	for _, n := range series {
		top = max(top, n)
	}
	if top == 0 {
		return s
	}
	w := s.W / float64(len(series))
	for i, n := range series {
		if n == 0 {
			continue
		}
		h := math.Max(float64(n)/float64(top)*s.H, 1.5)
		from := time.Unix(0, start+int64(i)*width).UTC()
		s.Bars = append(s.Bars, chartBar{X: float64(i) * w, Y: s.H - h, W: barWidth(w), H: h, Index: i,
			Title: fmt.Sprintf("%s: %s failures", from.Format("Jan 2 15:04"), groupDigits(n))})
	}
	return s
}
