package evals

import (
	"cmp"
	"math"
	"slices"
)

// Retrieval holds the ranking metrics of one retrieval: the scores given to
// its documents, in the order the retriever returned them. A document
// without a score is NaN. The metrics follow Phoenix's: the gain of a
// document is its score; k defaults to the number of documents; NDCG and
// precision are undefined (NaN) when any document lacks a score, since the
// missing one could change them; a hit needs one non-zero score.
type Retrieval struct {
	Scores []float64
}

// Missing reports whether some document has no score.
func (r Retrieval) Missing() bool {
	for _, s := range r.Scores {
		if !finite(s) {
			return true
		}
	}
	return false
}

// NDCG is the normalised discounted cumulative gain over the first k
// documents (k <= 0: all of them), with log2 discounting. It is 0 when no
// document of the ideal order has a gain, and NaN when a score is missing.
func (r Retrieval) NDCG(k int) float64 {
	if r.Missing() {
		return math.NaN()
	}
	if k <= 0 {
		k = len(r.Scores)
	}
	if k == 0 {
		return 0
	}
	ideal := slices.Clone(r.Scores)
	slices.SortFunc(ideal, func(a, b float64) int { return cmp.Compare(b, a) })
	idcg := dcg(ideal, k)
	if idcg == 0 {
		return 0
	}
	return dcg(r.Scores, k) / idcg
}

func dcg(scores []float64, k int) float64 {
	var sum float64
	for i := 0; i < k && i < len(scores); i++ {
		sum += scores[i] / math.Log2(float64(i)+2)
	}
	return sum
}

// Precision is the share of the first k positions (k <= 0: all documents)
// holding a document with a non-zero score; positions past the last
// document count as misses. NaN when a score is missing.
func (r Retrieval) Precision(k int) float64 {
	if r.Missing() {
		return math.NaN()
	}
	if k <= 0 {
		k = len(r.Scores)
	}
	if k == 0 {
		return 0
	}
	hits := 0
	for i := 0; i < k && i < len(r.Scores); i++ {
		if r.Scores[i] != 0 {
			hits++
		}
	}
	return float64(hits) / float64(k)
}

// Hit is 1 when some document has a non-zero score; else NaN when a score
// is missing (it might have been the hit), else 0.
func (r Retrieval) Hit() float64 {
	for _, s := range r.Scores {
		if finite(s) && s != 0 {
			return 1
		}
	}
	if r.Missing() {
		return math.NaN()
	}
	return 0
}

// ReciprocalRank is 1/rank of the first document with a non-zero score,
// NaN when a missing score comes before it, 0 when there is none.
func (r Retrieval) ReciprocalRank() float64 {
	for i, s := range r.Scores {
		if !finite(s) {
			return math.NaN()
		}
		if s != 0 {
			return 1 / float64(i+1)
		}
	}
	return 0
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Mean averages the defined values among xs (NaN ones are left out, as
// Phoenix's summaries do) and says how many there were.
func Mean(xs []float64) (mean float64, n int) {
	var sum float64
	for _, x := range xs {
		if finite(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}
