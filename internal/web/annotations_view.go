package web

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/store"
)

// noteName is the annotation name notes are stored under, as in Phoenix.
const noteName = "note"

// thumbsName is the annotation the thumbs buttons write, labelled up or down.
const thumbsName = "thumbs"

// maxEntityAnnotations bounds the annotations read for one span or trace.
const maxEntityAnnotations = 500

// maxRowAnnotations bounds the annotations read for one page of a list.
const maxRowAnnotations = 2000

// annotationView is one annotation as the lists show it.
type annotationView struct {
	store.Annotation
}

func (a annotationView) LabelText() string {
	if a.Label == nil {
		return ""
	}
	return *a.Label
}

func (a annotationView) HasScore() bool { return a.Score != nil }

func (a annotationView) ScoreText() string {
	if a.Score == nil {
		return ""
	}
	return formatScore(*a.Score)
}

func (a annotationView) ExplanationText() string {
	if a.Explanation == nil {
		return ""
	}
	return *a.Explanation
}

func (a annotationView) IsNote() bool { return a.Name == noteName }

func formatScore(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

// annotationsBlock is the annotations of one span or trace with the forms
// that add to them: the span detail's Annotations tab, or, Compact, the
// trace header's.
type annotationsBlock struct {
	Kind    store.AnnotationKind
	PostURL string
	Compact bool
	Items   []annotationView // newest first
	Chips   []annChip
	Thumb   string // the current thumbs label: up, down or ""
	// ReadOnly leaves the forms out, for a principal who may not write.
	ReadOnly bool
}

// OtherChips are the chips but the one the thumbs buttons already show
// (all of them when there are no buttons).
func (b *annotationsBlock) OtherChips() []annChip {
	if b.ReadOnly {
		return b.Chips
	}
	var out []annChip
	for _, c := range b.Chips {
		if !(c.Name == thumbsName && c.Thumb != "" && c.Thumb == b.Thumb) {
			out = append(out, c)
		}
	}
	return out
}

// Count is how many annotations there are, notes included.
func (b *annotationsBlock) Count() int { return len(b.Items) }

// ChoicesURL serves the names and labels the form offers (annotate.js
// fetches it when the form is first used): under the project of PostURL,
// /projects/NAME/….
func (b *annotationsBlock) ChoicesURL() string {
	parts := strings.SplitN(b.PostURL, "/", 4)
	if len(parts) < 4 || parts[1] != "projects" {
		return ""
	}
	return "/projects/" + parts[2] + "/annotation-choices?kind=" + string(b.Kind)
}

// Suggested are the names offered before the project's own are known.
func (b *annotationsBlock) Suggested() []string { return suggestedNames }

// KindLabel names the annotated thing in sentences.
func (b *annotationsBlock) KindLabel() string { return string(b.Kind) }

func (h *Handler) annotationsBlock(ctx context.Context, kind store.AnnotationKind, projectID int64, entityID, postURL string, compact bool) (*annotationsBlock, error) {
	b := &annotationsBlock{Kind: kind, PostURL: postURL, Compact: compact, ReadOnly: auth.Allowed(ctx, auth.Write) != nil}
	anns, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: kind, ProjectID: projectID, EntityIDs: []string{entityID}, Limit: maxEntityAnnotations,
	})
	if err != nil {
		return nil, err
	}
	for _, a := range anns {
		b.Items = append(b.Items, annotationView{a})
		if a.Name == thumbsName && a.Identifier == "" && a.Label != nil && b.Thumb == "" {
			b.Thumb = *a.Label
		}
	}
	b.Chips = chipsOf(anns, false)
	return b, nil
}

// annChip is the annotations of one name on one span or trace, in a cell
// or a header: "correctness: incorrect", "helpfulness 0.8", "2 notes".
type annChip struct {
	Name  string
	Value string
	Title string
	Thumb string // up or down, drawn as the icon
	Trace bool   // a trace's own annotation, on the Traces tab
	Note  bool
}

// chipsOf groups annotations by name, names in order, notes last.
func chipsOf(anns []store.Annotation, trace bool) []annChip {
	byName := map[string][]store.Annotation{}
	var names []string
	for _, a := range anns {
		if byName[a.Name] == nil {
			names = append(names, a.Name)
		}
		byName[a.Name] = append(byName[a.Name], a)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolInt(a == noteName), boolInt(b == noteName)), strings.Compare(a, b))
	})
	var out []annChip
	for _, name := range names {
		out = append(out, chipOf(name, byName[name], trace))
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func chipOf(name string, anns []store.Annotation, trace bool) annChip {
	c := annChip{Name: name, Trace: trace}
	whose := string(anns[0].Kind)
	if whose == "" {
		whose = "span"
	}
	if trace {
		whose = "trace"
	}
	if name == noteName {
		c.Note = true
		c.Value = strconv.Itoa(len(anns)) + " note"
		if len(anns) > 1 {
			c.Value += "s"
		}
		if e := anns[0].Explanation; e != nil {
			c.Title = clipRunes(*e, 200)
		}
		return c
	}
	var labels []string
	var sum float64
	var scores int
	for _, a := range anns {
		if a.Label != nil && *a.Label != "" && !slices.Contains(labels, *a.Label) {
			labels = append(labels, *a.Label)
		}
		if a.Score != nil {
			sum += *a.Score
			scores++
		}
	}
	switch {
	case len(labels) > 0:
		c.Value = strings.Join(labels, " / ")
	case scores > 0:
		c.Value = formatScore(sum / float64(scores))
	}
	if name == thumbsName && len(labels) == 1 && (labels[0] == "up" || labels[0] == "down") {
		c.Thumb = labels[0]
	}
	c.Title = name + " (" + whose + ")"
	if len(anns) > 1 {
		c.Title += " · " + strconv.Itoa(len(anns)) + " annotations"
		if scores > 0 && len(labels) > 0 {
			c.Title += " · mean score " + formatScore(sum/float64(scores))
		}
		return c
	}
	a := anns[0]
	c.Title += " · " + a.AnnotatorKind
	if a.Score != nil && len(labels) > 0 {
		c.Title += " · score " + formatScore(*a.Score)
	}
	if a.Explanation != nil && *a.Explanation != "" {
		c.Title += " · " + clipRunes(*a.Explanation, 160)
	}
	return c
}

// spanRowChips reads the annotations of the spans of one list page.
func (h *Handler) spanRowChips(ctx context.Context, projectID int64, spanIDs []string) (map[string][]annChip, error) {
	if len(spanIDs) == 0 {
		return nil, nil
	}
	anns, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: store.SpanAnnotation, ProjectID: projectID, EntityIDs: spanIDs, Limit: maxRowAnnotations,
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]annChip{}
	for id, list := range groupBy(anns, store.Annotation.EntityID) {
		out[id] = chipsOf(list, false)
	}
	return out, nil
}

// traceRowChips reads, for the traces of one list page, their own
// annotations and those of their root spans, keyed by trace id.
func (h *Handler) traceRowChips(ctx context.Context, projectID int64, traces []store.Trace) (map[string][]annChip, error) {
	if len(traces) == 0 {
		return nil, nil
	}
	traceIDs := make([]string, 0, len(traces))
	var rootIDs []string
	traceOfRoot := map[string]string{}
	for _, t := range traces {
		traceIDs = append(traceIDs, t.TraceID)
		if t.RootSpanID != "" {
			rootIDs = append(rootIDs, t.RootSpanID)
			traceOfRoot[t.RootSpanID] = t.TraceID
		}
	}
	own, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: store.TraceAnnotation, ProjectID: projectID, EntityIDs: traceIDs, Limit: maxRowAnnotations,
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]annChip{}
	for id, list := range groupBy(own, store.Annotation.EntityID) {
		out[id] = chipsOf(list, true)
	}
	if len(rootIDs) == 0 {
		return out, nil
	}
	roots, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: store.SpanAnnotation, ProjectID: projectID, EntityIDs: rootIDs, Limit: maxRowAnnotations,
	})
	if err != nil {
		return nil, err
	}
	for id, list := range groupBy(roots, store.Annotation.EntityID) {
		t := traceOfRoot[id]
		out[t] = append(out[t], chipsOf(list, false)...)
	}
	return out, nil
}

func groupBy[T any](xs []T, key func(T) string) map[string][]T {
	out := map[string][]T{}
	for _, x := range xs {
		k := key(x)
		out[k] = append(out[k], x)
	}
	return out
}
