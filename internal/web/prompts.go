package web

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/web/view"
)

// promptSorts are the orders of the prompt version table. "score" sorts by
// the mean score of the annotation named by ?by=.
var promptSorts = []string{"score", "version", "calls", "latency", "cost"}

type promptsPage struct {
	projectPage
	Sub    string
	Report store.PromptVersionReport
	Names  []string // annotation names, in name order
	Scored []string // those with a score, which the table can sort by
	Sort   string
	By     string // the annotation sorted by
	Asc    bool   // for scores: lowest (worst) first
	Rows   []promptRow
	// Missing is a ?by= name that no version has in this range.
	Missing string
	// The comparison of two versions (?a= old, ?b= new, by default the
	// two newest): their templates' diff and a verdict per scored name.
	Cmp *versionComparison
	// Keep are the query parameters the comparison's form carries over.
	Keep []view.KV
}

type promptRow struct {
	store.PromptVersion
	URL       string         // its LLM spans
	ErrorsURL string         // those that failed
	Segments  []view.Segment // its template, placeholders marked
	Cells     []promptCell   // one per name of the page
	// CostPerCall and TokensPerCall are over the roll-ups' LLM spans.
	CostPerCall   float64
	TokensPerCall int64
}

type promptCell struct {
	store.PromptAnnotation
	Has bool
	// Bar is the mean score's place between the lowest and highest means
	// of the column (or on 0–1, when they all fall there), in percent.
	Bar float64
	// Lo and Hi bound the mean score's 95% interval, when HasCI.
	Lo, Hi float64
	HasCI  bool
	// URL lists the spans behind the cell; ScoreURL those with a score;
	// each label links to the spans that carry it.
	URL, ScoreURL string
	LabelLinks    []labelLink
}

type labelLink struct {
	store.LabelShare
	URL string
}

// projectPrompts answers "which prompt version is worst": every template
// version of the project's LLM spans with its annotations, latency and cost.
func (h *Handler) projectPrompts(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "metrics")
	if !ok {
		return
	}
	q := r.URL.Query()
	pp := promptsPage{projectPage: page, Sub: "prompts", Sort: q.Get("sort"), By: q.Get("by"), Asc: q.Get("dir") != "desc"}
	if pp.Sort != "" && !slices.Contains(promptSorts, pp.Sort) {
		h.badRequest(w, r, http.StatusBadRequest, page.P.Name,
			"The prompt version table sorts by score, version, calls, latency or cost, not "+quote(pp.Sort)+".",
			page.URL.With("sort", "", "by", "", "dir", ""), "Prompt versions")
		return
	}
	if d := q.Get("dir"); d != "" && d != "asc" && d != "desc" {
		h.badRequest(w, r, http.StatusBadRequest, page.P.Name, "dir is asc or desc, not "+quote(d)+".",
			page.URL.With("dir", ""), "Prompt versions")
		return
	}
	start, _ := h.resolvedRange(page)
	rep, err := h.store.PromptVersionReport(r.Context(), page.P.ID, start, page.Range.EndNs())
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	pp.Report = rep
	scored := map[string]bool{}
	for _, v := range rep.Versions {
		for _, a := range v.Annotations {
			if !slices.Contains(pp.Names, a.Name) {
				pp.Names = append(pp.Names, a.Name)
			}
			if a.ScoreCount > 0 {
				scored[a.Name] = true
			}
		}
	}
	slices.Sort(pp.Names)
	for _, n := range pp.Names {
		if scored[n] {
			pp.Scored = append(pp.Scored, n)
		}
	}
	if pp.By != "" && !scored[pp.By] {
		pp.Missing, pp.By = pp.By, ""
	}
	if pp.By == "" && len(pp.Scored) > 0 {
		pp.By = pp.Scored[0]
	}
	if pp.Sort == "" {
		pp.Sort = "version"
		if pp.By != "" {
			pp.Sort = "score"
		}
	}
	if pp.Sort == "score" && pp.By == "" {
		pp.Sort = "version"
	}
	for _, v := range rep.Versions {
		row := promptRow{PromptVersion: v, Segments: view.SplitTemplate(v.Template)}
		version := versionExpr(v.Version)
		row.URL = spansLink(page, version)
		row.ErrorsURL = spansLink(page, version+" and status_code == 'ERROR'")
		if v.Usage.LLMSpans > 0 {
			row.CostPerCall = v.Usage.Cost / float64(v.Usage.LLMSpans)
			row.TokensPerCall = v.Usage.TotalTokens / v.Usage.LLMSpans
		}
		for _, n := range pp.Names {
			a, has := v.Annotation(n)
			c := promptCell{PromptAnnotation: a, Has: has}
			if has {
				c.Lo, c.Hi, c.HasCI = sampleOf(a).Interval()
				c.URL = spansLink(page, version+" and "+annotatedExpr(n, ""))
				c.ScoreURL = spansLink(page, version+" and "+annotatedExpr(n, ".score is not None"))
				for _, l := range a.Labels {
					c.LabelLinks = append(c.LabelLinks, labelLink{LabelShare: l,
						URL: spansLink(page, version+" and "+annotatedExpr(n, ".label == "+pyString(l.Label)))})
				}
			}
			row.Cells = append(row.Cells, c)
		}
		pp.Rows = append(pp.Rows, row)
	}
	scoreBars(pp.Rows)
	if len(rep.Versions) > 0 {
		var ok bool
		if pp.Cmp, ok = compareVersions(rep.Versions, pp.Scored, q.Get("a"), q.Get("b")); !ok {
			h.badRequest(w, r, http.StatusBadRequest, page.P.Name,
				"There is no version "+quote(q.Get("a"))+" or "+quote(q.Get("b"))+" in this range to compare.",
				page.URL.With("a", "", "b", ""), "Prompt versions")
			return
		}
	}
	for _, k := range []string{"range", "start", "end", "sort", "by", "dir"} {
		if v := q.Get(k); v != "" {
			pp.Keep = append(pp.Keep, view.KV{Key: k, Value: v})
		}
	}
	sortPromptRows(pp.Rows, pp.Sort, pp.By, pp.Asc)
	h.render(w, r, http.StatusOK, "prompts", pp)
}

// scoreBars places each mean score on its column's scale, so the bars of
// a column compare at a glance.
func scoreBars(rows []promptRow) {
	if len(rows) == 0 {
		return
	}
	for j := range rows[0].Cells {
		lo, hi := 0.0, 1.0
		for _, r := range rows {
			if c := r.Cells[j]; c.ScoreCount > 0 {
				lo, hi = min(lo, c.MeanScore), max(hi, c.MeanScore)
			}
		}
		for i := range rows {
			if c := &rows[i].Cells[j]; c.ScoreCount > 0 {
				c.Bar = (c.MeanScore - lo) / (hi - lo) * 100
			}
		}
	}
}

// sortPromptRows orders the table worst first: the lowest score (or the
// highest with asc false), the slowest, the most expensive. Versions
// without the score go last; ties fall to the newer version.
func sortPromptRows(rows []promptRow, sort, by string, asc bool) {
	slices.SortStableFunc(rows, func(a, b promptRow) int {
		var c int
		switch sort {
		case "score":
			x, xok := a.Annotation(by)
			y, yok := b.Annotation(by)
			xok, yok = xok && x.ScoreCount > 0, yok && y.ScoreCount > 0
			switch {
			case xok != yok:
				if xok {
					return -1
				}
				return 1
			case asc:
				c = cmp.Compare(x.MeanScore, y.MeanScore)
			default:
				c = cmp.Compare(y.MeanScore, x.MeanScore)
			}
		case "calls":
			c = cmp.Compare(b.Usage.LLMSpans, a.Usage.LLMSpans)
		case "latency":
			c = cmp.Compare(b.Latency.P50, a.Latency.P50)
		case "cost":
			c = cmp.Compare(b.Usage.Cost, a.Usage.Cost)
		}
		return cmp.Or(c, store.CompareVersions(b.Version, a.Version))
	})
}

func quote(s string) string { return "“" + s + "”" }
