package web

import (
	"math"
	"net/url"
	"strconv"

	"github.com/loupe-dev/loupe/internal/evals"
	"github.com/loupe-dev/loupe/internal/store"
)

// The prompt version report's links to the spans behind each figure, and
// its comparison of two versions.

// versionExpr selects the LLM spans of one template version.
func versionExpr(version string) string {
	return "span_kind == 'LLM' and llm.prompt_template.version == " + pyString(version)
}

// annotatedExpr selects spans with an annotation of a name, on themselves
// or on their trace, as the report counts both; test follows the accessor
// (".label == 'x'", ".score is not None", or "" for any).
func annotatedExpr(name, test string) string {
	n := pyString(name)
	return "(annotations[" + n + "]" + test + " or trace_annotations[" + n + "]" + test + ")"
}

// spansLink is the Spans tab filtered by expr, over the page's time range.
func spansLink(page projectPage, expr string) string {
	q := url.Values{"filter": {expr}}
	for _, k := range []string{"range", "start", "end"} {
		if v := page.URL.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return projectURL(page.P.Name) + "/spans?" + q.Encode()
}

func sampleOf(a store.PromptAnnotation) evals.Sample {
	return evals.Sample{N: a.ScoreCount, Mean: a.MeanScore, SD: a.ScoreSD}
}

// versionComparison sets two versions side by side: A the older, B the newer.
type versionComparison struct {
	A, B     store.PromptVersion
	Versions []string // every version, for the pickers
	Diff     templateDiff
	Verdicts []verdict
}

// verdict is one score's change from A to B, in words.
type verdict struct {
	Name   string
	A, B   evals.Sample
	Result evals.Comparison
}

// Line is the verdict as the page writes it:
// "v2 vs v1: −0.22 correctness, n 34/32, likely real (p 0.003)".
func (v verdict) Line(a, b string) string {
	switch {
	case v.A.N == 0:
		return b + " vs " + a + ": no " + v.Name + " scores on " + a + " to compare with"
	case v.B.N == 0:
		return b + " vs " + a + ": no " + v.Name + " scores on " + b + " yet"
	}
	return b + " vs " + a + ": " + signed(v.Result.Diff) + " " + v.Name + ", n " +
		strconv.FormatInt(v.B.N, 10) + "/" + strconv.FormatInt(v.A.N, 10) + ", " + v.Result.Verdict()
}

// Real tells the template to mark the line.
func (v verdict) Real() bool { return v.Result.Real() }

func signed(f float64) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', 2, 64)
	if f < 0 && s != "0.00" {
		return "−" + s
	}
	return "+" + s
}

// compareVersions builds the comparison of versions a and b (names; empty
// picks the two newest: b the newest, a the one before). ok is false when
// a named version is not in the report.
func compareVersions(versions []store.PromptVersion, scored []string, a, b string) (*versionComparison, bool) {
	find := func(name string) (store.PromptVersion, bool) {
		for _, v := range versions {
			if v.Version == name {
				return v, true
			}
		}
		return store.PromptVersion{}, false
	}
	// Versions come newest first.
	if b == "" {
		b = versions[0].Version
	}
	if a == "" {
		a = b
		for i, v := range versions {
			if v.Version == b && i+1 < len(versions) {
				a = versions[i+1].Version
			}
		}
	}
	va, okA := find(a)
	vb, okB := find(b)
	if !okA || !okB {
		return nil, false
	}
	c := &versionComparison{A: va, B: vb, Diff: diffTemplates(va.Template, vb.Template)}
	for _, v := range versions {
		c.Versions = append(c.Versions, v.Version)
	}
	for _, name := range scored {
		x, _ := va.Annotation(name)
		y, _ := vb.Annotation(name)
		if x.ScoreCount == 0 && y.ScoreCount == 0 {
			continue
		}
		sa, sb := sampleOf(x), sampleOf(y)
		c.Verdicts = append(c.Verdicts, verdict{Name: name, A: sa, B: sb, Result: evals.Compare(sa, sb)})
	}
	return c, true
}

// SameVersion says the pickers chose one version twice.
func (c *versionComparison) SameVersion() bool { return c.A.Version == c.B.Version }

// HalfCI is half the width of the mean's interval: the ± the cell shows.
func (c promptCell) HalfCI() float64 { return (c.Hi - c.Lo) / 2 }
