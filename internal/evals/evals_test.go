package evals

import (
	"math"
	"testing"
)

var nan = math.NaN()

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-6
}

func TestRetrieval(t *testing.T) {
	// NDCG values worked by hand: DCG = Σ gain_i / log2(i+2).
	cases := []struct {
		name                 string
		scores               []float64
		k                    int
		ndcg, prec, hit, mrr float64
	}{
		{"perfect", []float64{1, 1, 0}, 0, 1, 2.0 / 3, 1, 1},
		{"relevant last", []float64{0, 0, 1}, 0, 0.5, 1.0 / 3, 1, 1.0 / 3},
		// DCG = 1/log2(3) = 0.6309, ideal = 1.
		{"second only", []float64{0, 1}, 0, 1 / math.Log2(3), 0.5, 1, 0.5},
		{"at 1", []float64{0, 1}, 1, 0, 0, 1, 0.5},
		{"graded", []float64{0.5, 1}, 0, (0.5 + 1/math.Log2(3)) / (1 + 0.5/math.Log2(3)), 1, 1, 1},
		{"none relevant", []float64{0, 0}, 0, 0, 0, 0, 0},
		{"k past the end", []float64{1}, 3, 1, 1.0 / 3, 1, 1},
		{"one missing", []float64{1, nan}, 0, nan, nan, 1, 1},
		{"missing, no hit", []float64{0, nan}, 0, nan, nan, nan, nan},
		{"no documents", nil, 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		r := Retrieval{Scores: c.scores}
		if got := r.NDCG(c.k); !near(got, c.ndcg) {
			t.Errorf("%s: ndcg@%d = %v, want %v", c.name, c.k, got, c.ndcg)
		}
		if got := r.Precision(c.k); !near(got, c.prec) {
			t.Errorf("%s: precision@%d = %v, want %v", c.name, c.k, got, c.prec)
		}
		if got := r.Hit(); !near(got, c.hit) {
			t.Errorf("%s: hit = %v, want %v", c.name, got, c.hit)
		}
		if got := r.ReciprocalRank(); !near(got, c.mrr) {
			t.Errorf("%s: reciprocal rank = %v, want %v", c.name, got, c.mrr)
		}
	}
	if m, n := Mean([]float64{1, nan, 0.5}); m != 0.75 || n != 2 {
		t.Errorf("mean = %v over %d, want 0.75 over 2", m, n)
	}
}

func TestCompare(t *testing.T) {
	// Worked by hand: means 0.8125 and 0.3125, variances 0.066964 and
	// 0.138393, so t = -0.5/0.16022 = -3.1208 on 12.49 degrees of freedom
	// (two-sided p between 0.005 and 0.01 from the t table).
	a := SampleOf([]float64{1, 1, 0.5, 1, 0.5, 1, 1, 0.5})
	b := SampleOf([]float64{0, 0.5, 0, 0, 0.5, 1, 0, 0.5})
	c := Compare(a, b)
	if !near(c.Diff, -0.5) || !c.Real() {
		t.Errorf("diff %v p %v, want -0.5 and likely real", c.Diff, c.P)
	}
	if math.Abs(c.T+3.1208) > 1e-3 || math.Abs(c.DF-12.489) > 1e-3 || c.P < 0.005 || c.P > 0.01 {
		t.Errorf("t %v df %v p %v, want t -3.1208, df 12.489, p in 0.005-0.01", c.T, c.DF, c.P)
	}
	same := Compare(SampleOf([]float64{1, 0, 1, 0}), SampleOf([]float64{0, 1, 1, 0}))
	if same.Real() || same.Verdict() != "not distinguishable yet (p 1)" {
		t.Errorf("equal groups: %s", same.Verdict())
	}
	if v := Compare(SampleOf([]float64{1}), b).Verdict(); v != "too few scores to tell" {
		t.Errorf("one score: %s", v)
	}
	lo, hi, ok := SampleOf([]float64{1, 2, 3, 4}).Interval()
	// mean 2.5, sd 1.291, t(0.975, 3) = 3.1824: ± 2.0543.
	if !ok || !near(math.Round(lo*1e4)/1e4, 0.4457) || !near(math.Round(hi*1e4)/1e4, 4.5543) {
		t.Errorf("interval %v–%v, want 0.4457–4.5543", lo, hi)
	}
}
