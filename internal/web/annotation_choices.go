package web

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// choicesWindow is how far back the annotation form looks for names and
// labels already in use: far enough to know a project's vocabulary, and
// read from the hourly sums the page headers use.
const choicesWindow = 30 * 24 * time.Hour

// suggestedNames are offered after a project's own names, for its first
// annotations.
var suggestedNames = []string{"correctness", "helpfulness", "relevance", "hallucination", "toxicity"}

// annotationChoices is what the annotation form offers: the names in use
// on the project's spans, traces or sessions (most used first), each with
// its labels, then common names not yet used.
type annotationChoices struct {
	Kind  store.AnnotationKind
	Names []nameChoice
}

type nameChoice struct {
	Name      string
	Labels    []string
	Used      int64 // annotations of this name in the window; 0 for a suggestion
	Suggested bool
	// Defined says a config defines the name: its labels are the only
	// ones, and Min and Max bound its score ("" for none).
	Defined  bool
	Min, Max string
}

// annotationChoicesFragment serves the choices of the form of one kind, for
// annotate.js to fetch when the form is first used: the page that holds
// the form does not pay for them.
func (h *Handler) annotationChoicesFragment(w http.ResponseWriter, r *http.Request) {
	kind := store.AnnotationKind(r.URL.Query().Get("kind"))
	switch kind {
	case store.SpanAnnotation, store.TraceAnnotation, store.SessionAnnotation:
	default:
		http.Error(w, "kind is span, trace or session, not "+quote(string(kind)), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	p, err := h.store.ProjectByName(ctx, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err, notFound{What: "Project", ID: r.PathValue("name")})
		return
	}
	now := h.now()
	sums, err := h.store.AnnotationSummaries(ctx, p.ID, kind, now.Add(-choicesWindow).UnixNano(), 0)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	configs, err := h.formConfigs(ctx, p.ID)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.renderFragment(w, r, "annotation_choices", choicesOf(kind, sums, configs))
}

// choicesOf offers the names a config defines, then those in use, then
// the usual ones.
func choicesOf(kind store.AnnotationKind, sums []store.AnnotationSummary, configs []store.AnnotationConfig) annotationChoices {
	c := annotationChoices{Kind: kind}
	used := map[string]bool{}
	for _, cf := range configs {
		n := nameChoice{Name: cf.Name, Defined: true}
		for _, v := range cf.Values {
			n.Labels = append(n.Labels, v.Label)
		}
		if cf.LowerBound != nil {
			n.Min = formatScore(*cf.LowerBound)
		}
		if cf.UpperBound != nil {
			n.Max = formatScore(*cf.UpperBound)
		}
		c.Names = append(c.Names, n)
		used[cf.Name] = true
	}
	var inUse []nameChoice
	for _, s := range sums {
		if s.Name == noteName || s.Name == thumbsName {
			continue
		}
		if used[s.Name] {
			continue
		}
		n := nameChoice{Name: s.Name, Used: s.Count}
		for _, l := range s.Labels {
			n.Labels = append(n.Labels, l.Label)
		}
		inUse = append(inUse, n)
		used[s.Name] = true
	}
	sortByUse(inUse)
	c.Names = append(c.Names, inUse...)
	for _, n := range suggestedNames {
		if !used[n] {
			c.Names = append(c.Names, nameChoice{Name: n, Suggested: true})
		}
	}
	return c
}

// sortByUse puts the most used names first; ties keep their (name) order.
func sortByUse(ns []nameChoice) {
	slices.SortStableFunc(ns, func(a, b nameChoice) int { return cmp.Compare(b.Used, a.Used) })
}
