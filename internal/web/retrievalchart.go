package web

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/evals"
	"github.com/loupe-dev/loupe/internal/store"
)

// retrievalSummary is one evaluation name's retrieval metrics over a set
// of retrievals, each the mean of the retrievals where it is defined.
type retrievalSummary struct {
	Name                    string
	Retrievals              int
	NDCG, Precision, Hit    float64
	NNDCG, NPrecision, NHit int
}

// metricsOf reads one retrieval's scores as Phoenix does: every document
// the span returned has a place, NaN where it has no score, and k is the
// number of documents.
func metricsOf(r store.RetrievalScores) evals.Retrieval {
	s := make([]float64, r.Documents)
	for i := range s {
		s[i] = math.NaN()
	}
	for pos, v := range r.Scores {
		s[pos] = v
	}
	return evals.Retrieval{Scores: s}
}

// summarizeRetrievals averages the metrics of the retrievals by name.
func summarizeRetrievals(rs []store.RetrievalScores) []retrievalSummary {
	type acc struct{ ndcg, prec, hit []float64 }
	by := map[string]*acc{}
	for _, r := range rs {
		a := by[r.Name]
		if a == nil {
			a = &acc{}
			by[r.Name] = a
		}
		m := metricsOf(r)
		a.ndcg = append(a.ndcg, m.NDCG(0))
		a.prec = append(a.prec, m.Precision(0))
		a.hit = append(a.hit, m.Hit())
	}
	var out []retrievalSummary
	for name, a := range by {
		s := retrievalSummary{Name: name, Retrievals: len(a.ndcg)}
		s.NDCG, s.NNDCG = evals.Mean(a.ndcg)
		s.Precision, s.NPrecision = evals.Mean(a.prec)
		s.Hit, s.NHit = evals.Mean(a.hit)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b retrievalSummary) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// maxRetrievalNames bounds the names the chart draws, three lines each.
const maxRetrievalNames = 2

// retrievalChart draws NDCG, precision and hit rate per bucket for the
// most common evaluation names; nil when there is nothing to draw.
func retrievalChart(x xAxis, ds store.DocumentScores) *chart {
	if len(ds.Retrievals) == 0 {
		return nil
	}
	byBucket := map[int][]store.RetrievalScores{}
	counts := map[string]int{}
	for _, r := range ds.Retrievals {
		if i := x.index(r.Start); i >= 0 {
			byBucket[i] = append(byBucket[i], r)
			counts[r.Name]++
		}
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	if len(names) > maxRetrievalNames {
		names = names[:maxRetrievalNames]
	}
	var ss []chartSeries
	for j, name := range names {
		ndcg, prec, hit := missing(x.N), missing(x.N), missing(x.N)
		for i, rs := range byBucket {
			for _, s := range summarizeRetrievals(rs) {
				if s.Name != name {
					continue
				}
				if s.NNDCG > 0 {
					ndcg[i] = s.NDCG
				}
				if s.NPrecision > 0 {
					prec[i] = s.Precision
				}
				if s.NHit > 0 {
					hit[i] = s.Hit
				}
			}
		}
		label := func(m string) string {
			if len(names) == 1 {
				return m
			}
			return name + " " + m
		}
		class := func(k int) string { return "s-" + strconv.Itoa(3*j+k) }
		ss = append(ss, chartSeries{Label: label("NDCG"), Class: class(1), Values: ndcg},
			chartSeries{Label: label("precision"), Class: class(2), Values: prec},
			chartSeries{Label: label("hit rate"), Class: class(3), Values: hit})
	}
	title := "Retrieval"
	if len(names) == 1 {
		title += " · " + names[0]
	}
	c := lines(chartSpec{Title: title, Unit: "mean per retrieval, k = documents returned", Format: scoreFormat, MinTop: 1,
		Empty: "No retrieval with every document evaluated in this range."}, x, ss, 0)
	var note string
	for _, s := range summarizeRetrievals(ds.Retrievals) {
		if note != "" {
			note += "; "
		}
		note += s.Name + " over " + plural(int64(s.Retrievals), "retrieval", "retrievals") + ": NDCG " + meanText(s.NDCG, s.NNDCG) +
			", precision " + meanText(s.Precision, s.NPrecision) + ", hit rate " + meanText(s.Hit, s.NHit)
	}
	if ds.Sampled {
		note += " (the newest " + groupDigits(store.DocumentScoreSample) + " document evaluations)"
	}
	c.Note = note
	return &c
}

func meanText(v float64, n int) string {
	if n == 0 {
		return "–"
	}
	return scoreFormat(v) + " (n " + strconv.Itoa(n) + ")"
}
