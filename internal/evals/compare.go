package evals

import (
	"fmt"
	"math"
)

// Sample sums up a group of scores: one per annotated span or trace.
type Sample struct {
	N    int64
	Mean float64
	SD   float64 // sample standard deviation (n-1); 0 for n < 2
}

// SampleOf sums up xs.
func SampleOf(xs []float64) Sample {
	s := Sample{N: int64(len(xs))}
	if s.N == 0 {
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(s.N-1))
	}
	return s
}

// Interval is the 95% confidence interval of the mean, from Student's t
// with n-1 degrees of freedom; ok is false below two scores.
func (s Sample) Interval() (lo, hi float64, ok bool) {
	if s.N < 2 {
		return 0, 0, false
	}
	h := tQuantile(0.975, float64(s.N-1)) * s.SD / math.Sqrt(float64(s.N))
	return s.Mean - h, s.Mean + h, true
}

// Comparison is Welch's t-test of two means: whether b differs from a by
// more than chance would explain, without assuming equal variances.
type Comparison struct {
	A, B  Sample
	Diff  float64 // B.Mean - A.Mean
	T, DF float64
	P     float64 // two-sided
	// Testable is false when a side has fewer than two scores.
	Testable bool
}

// Alpha is the p-value under which a difference is called likely real.
const Alpha = 0.05

// Compare tests b against a.
func Compare(a, b Sample) Comparison {
	c := Comparison{A: a, B: b, Diff: b.Mean - a.Mean}
	if a.N < 2 || b.N < 2 {
		return c
	}
	c.Testable = true
	va, vb := a.SD*a.SD/float64(a.N), b.SD*b.SD/float64(b.N)
	se := math.Sqrt(va + vb)
	if se == 0 {
		// No spread on either side: any difference is exact.
		c.P = 1
		if c.Diff != 0 {
			c.P, c.T = 0, math.Inf(sign(c.Diff))
		}
		c.DF = float64(a.N + b.N - 2)
		return c
	}
	c.T = c.Diff / se
	c.DF = (va + vb) * (va + vb) / (va*va/float64(a.N-1) + vb*vb/float64(b.N-1))
	c.P = 2 * (1 - tCDF(math.Abs(c.T), c.DF))
	return c
}

func sign(f float64) int {
	if f < 0 {
		return -1
	}
	return 1
}

// Real reports whether the difference is likely real (p < Alpha).
func (c Comparison) Real() bool { return c.Testable && c.P < Alpha }

// Verdict says it in words: "likely real (p 0.003)", "not distinguishable
// yet (p 0.41)" or "too few scores to tell".
func (c Comparison) Verdict() string {
	switch {
	case !c.Testable:
		return "too few scores to tell"
	case c.Real():
		return fmt.Sprintf("likely real (p %s)", formatP(c.P))
	}
	return fmt.Sprintf("not distinguishable yet (p %s)", formatP(c.P))
}

func formatP(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return fmt.Sprintf("%.3g", p)
}

// tCDF is Student's t distribution function with df degrees of freedom.
func tCDF(t, df float64) float64 {
	x := df / (df + t*t)
	tail := 0.5 * regIncBeta(df/2, 0.5, x)
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// tQuantile inverts tCDF by bisection: a handful of calls per page.
func tQuantile(p, df float64) float64 {
	lo, hi := -1e3, 1e3
	for range 200 {
		mid := (lo + hi) / 2
		if tCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-10 {
			break
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), by
// its continued fraction (Lentz's method).
func regIncBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x > (a+1)/(a+b+2) {
		return 1 - front*betaCF(b, a, 1-x)/b
	}
	return front * betaCF(a, b, x) / a
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1.0; m <= 300; m++ {
		m2 := 2 * m
		aa := m * (b - m) * x / ((a + m2 - 1) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 3e-14 {
			break
		}
	}
	return h
}
