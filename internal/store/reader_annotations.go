package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// AnnotationReader summarises annotations for page headers.
type AnnotationReader interface {
	// AnnotationSummaries summarises, per annotation name (in name order),
	// the annotations of one kind (span, trace or session) on a project's
	// entities in [start, end): spans and traces that started in it,
	// sessions that overlap it; end 0 is open. As in Phoenix, only
	// annotations with a label or a score count, and every entity weighs
	// the same however many annotations (identifiers) of a name it has.
	// Document annotations are an ErrInvalidArgument.
	AnnotationSummaries(ctx context.Context, projectID int64, kind AnnotationKind, start, end int64) ([]AnnotationSummary, error)
}

// AnnotationSummary sums up the annotations of one name.
type AnnotationSummary struct {
	Name     string
	Count    int64 // annotations with a label or a score
	Entities int64 // annotated spans, traces or sessions
	// ScoreCount is the entities with a score; MeanScore, the mean of their
	// mean scores, means something only when it is not 0.
	ScoreCount int64
	MeanScore  float64
	Labels     []AnnotationLabel // most common first, then by label
}

// AnnotationLabel is how often one label of a name was given.
type AnnotationLabel struct {
	Label string
	Count int64 // annotations with this label
	// Fraction is the mean, over the entities with a labelled annotation of
	// this name, of the share of their labels that are this one.
	Fraction float64
}

// SortAnnotationLabels orders labels most common first, then by label, as
// every backend returns them.
func SortAnnotationLabels(ls []AnnotationLabel) {
	slices.SortFunc(ls, func(a, b AnnotationLabel) int {
		return cmp.Or(cmp.Compare(b.Fraction, a.Fraction), strings.Compare(a.Label, b.Label))
	})
}
