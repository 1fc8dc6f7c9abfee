package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// AnnotationConfigs keeps annotation configs: optional definitions of an
// annotation name, as Phoenix has them. A name without one takes any label
// and score; a config narrows what the UI offers and accepts. As in
// Phoenix, configs are defined once for the server and assigned to the
// projects that use them.
type AnnotationConfigs interface {
	// AnnotationConfigs lists every config, by name.
	AnnotationConfigs(ctx context.Context) ([]AnnotationConfig, error)
	// CreateAnnotationConfig adds c and returns it with its id: a name
	// already defined is ErrConflict, an invalid config ErrInvalidArgument.
	CreateAnnotationConfig(ctx context.Context, c AnnotationConfig) (AnnotationConfig, error)
	// UpdateAnnotationConfig replaces the config of id c.ID, its name
	// included: ErrNotFound when there is none, ErrConflict when another
	// config has the name.
	UpdateAnnotationConfig(ctx context.Context, c AnnotationConfig) (AnnotationConfig, error)
	// SaveAnnotationConfig creates the config of c.Name, or replaces it,
	// and returns it with its id. An invalid config is ErrInvalidArgument.
	SaveAnnotationConfig(ctx context.Context, c AnnotationConfig) (AnnotationConfig, error)
	// DeleteAnnotationConfig deletes the config of a name, and its
	// assignments; ErrNotFound when there is none.
	DeleteAnnotationConfig(ctx context.Context, name string) error

	// ProjectAnnotationConfigs lists the configs assigned to a project, by
	// name.
	ProjectAnnotationConfigs(ctx context.Context, projectID int64) ([]AnnotationConfig, error)
	// AssignAnnotationConfig assigns a config to a project, or unassigns
	// it; either is a no-op when already so. ErrNotFound when the config
	// does not exist.
	AssignAnnotationConfig(ctx context.Context, projectID, configID int64, assigned bool) error
	// ReplaceProjectAnnotationConfigs makes configIDs the project's whole
	// set of configs; ErrNotFound, and no change, when one does not exist.
	ReplaceProjectAnnotationConfigs(ctx context.Context, projectID int64, configIDs []int64) error
}

// AnnotationConfigType is what values a config allows.
type AnnotationConfigType string

const (
	Categorical AnnotationConfigType = "CATEGORICAL" // labels from a list, each with an optional score
	Continuous  AnnotationConfigType = "CONTINUOUS"  // a score, within bounds when given
	Freeform    AnnotationConfigType = "FREEFORM"    // anything
)

// AnnotationConfig defines one annotation name.
type AnnotationConfig struct {
	ID          int64                `json:"-"`
	Name        string               `json:"-"`
	Type        AnnotationConfigType `json:"type"`
	Description string               `json:"description,omitempty"`
	// Direction is MAXIMIZE, MINIMIZE or NONE: whether a high score is good.
	Direction  string             `json:"optimization_direction,omitempty"`
	Values     []CategoricalValue `json:"values,omitempty"`
	LowerBound *float64           `json:"lower_bound,omitempty"`
	UpperBound *float64           `json:"upper_bound,omitempty"`
	// Threshold is a freeform config's one threshold, if any.
	Threshold *float64 `json:"threshold,omitempty"`
}

// CategoricalValue is one label a categorical config allows.
type CategoricalValue struct {
	Label string   `json:"label"`
	Score *float64 `json:"score,omitempty"`
}

// Validate reports what makes a config unusable, wrapping ErrInvalidArgument.
func (c AnnotationConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(c.Name) == "" {
		return bad("an annotation config needs a name")
	}
	switch c.Direction {
	case "", "MAXIMIZE", "MINIMIZE", "NONE":
	default:
		return bad("optimization direction is MAXIMIZE, MINIMIZE or NONE, not %q", c.Direction)
	}
	switch c.Type {
	case Categorical:
		if len(c.Values) == 0 {
			return bad("a categorical config needs at least one label")
		}
		var seen []string
		for _, v := range c.Values {
			l := strings.TrimSpace(v.Label)
			if l == "" {
				return bad("a categorical config's labels cannot be empty")
			}
			if slices.Contains(seen, l) {
				return bad("the label %q is listed twice", l)
			}
			if v.Score != nil && !finite(*v.Score) {
				return bad("the score of %q is not a number", l)
			}
			seen = append(seen, l)
		}
	case Continuous, Freeform:
		if len(c.Values) > 0 {
			return bad("only a categorical config lists labels")
		}
		if c.Threshold != nil && c.Type != Freeform {
			return bad("only a freeform config has a threshold")
		}
	default:
		return bad("an annotation config is CATEGORICAL, CONTINUOUS or FREEFORM, not %q", c.Type)
	}
	for _, b := range []*float64{c.LowerBound, c.UpperBound, c.Threshold} {
		if b != nil && !finite(*b) {
			return bad("a bound is not a number")
		}
	}
	// As Phoenix: equal bounds would leave a single score, not a range.
	if c.LowerBound != nil && c.UpperBound != nil && *c.LowerBound >= *c.UpperBound {
		return bad("the lower bound %g is not below the upper bound %g", *c.LowerBound, *c.UpperBound)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Admits reports why an annotation's label and score do not fit the
// config, or nil when they do.
func (c AnnotationConfig) Admits(label *string, score *float64) error {
	if c.Type == Categorical && label != nil {
		ok := false
		var labels []string
		for _, v := range c.Values {
			labels = append(labels, v.Label)
			ok = ok || v.Label == *label
		}
		if !ok {
			return fmt.Errorf("%q is not a label of %s: use one of %s", *label, c.Name, strings.Join(labels, ", "))
		}
	}
	if score != nil {
		if c.LowerBound != nil && *score < *c.LowerBound {
			return fmt.Errorf("the score of %s is at least %g, not %g", c.Name, *c.LowerBound, *score)
		}
		if c.UpperBound != nil && *score > *c.UpperBound {
			return fmt.Errorf("the score of %s is at most %g, not %g", c.Name, *c.UpperBound, *score)
		}
	}
	return nil
}

// ScoreOf is the score a categorical config gives a label, if any.
func (c AnnotationConfig) ScoreOf(label string) (float64, bool) {
	for _, v := range c.Values {
		if v.Label == label && v.Score != nil {
			return *v.Score, true
		}
	}
	return 0, false
}

// EncodeAnnotationConfig is the JSON a backend stores for c (its name and
// id live in their own columns).
func EncodeAnnotationConfig(c AnnotationConfig) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// DecodeAnnotationConfig reads what EncodeAnnotationConfig wrote.
func DecodeAnnotationConfig(id int64, name, config string) (AnnotationConfig, error) {
	var c AnnotationConfig
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		return c, fmt.Errorf("annotation config %s: %w", name, err)
	}
	c.ID, c.Name = id, name
	return c, nil
}
