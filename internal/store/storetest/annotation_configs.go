package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupe-dev/loupe/internal/store"
)

// testAnnotationConfigs saves, replaces, lists and deletes annotation
// configs, and refuses ones that cannot be used.
func testAnnotationConfigs(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got, err := s.AnnotationConfigs(ctx); err != nil || len(got) != 0 {
		t.Fatalf("AnnotationConfigs of a new store = %v, %v; want none", got, err)
	}
	correctness := store.AnnotationConfig{Name: "correctness", Type: store.Categorical, Direction: "MAXIMIZE",
		Values: []store.CategoricalValue{{Label: "correct", Score: ptr(1.0)}, {Label: "incorrect", Score: ptr(0.0)}, {Label: "unsure"}}}
	csat := store.AnnotationConfig{Name: "csat", Type: store.Continuous, Description: "Customer rating",
		LowerBound: ptr(1.0), UpperBound: ptr(5.0)}
	saved, err := s.SaveAnnotationConfig(ctx, correctness)
	if err != nil || saved.ID == 0 {
		t.Fatalf("SaveAnnotationConfig = %+v, %v; want an id", saved, err)
	}
	if _, err := s.SaveAnnotationConfig(ctx, csat); err != nil {
		t.Fatal(err)
	}
	// Saving a name again replaces its config, under the same id.
	correctness.Values = correctness.Values[:2]
	again, err := s.SaveAnnotationConfig(ctx, correctness)
	if err != nil || again.ID != saved.ID {
		t.Fatalf("SaveAnnotationConfig again = %+v, %v; want id %d", again, err, saved.ID)
	}
	got, err := s.AnnotationConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AnnotationConfig{correctness, csat}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.AnnotationConfig{}, "ID")); diff != "" {
		t.Errorf("AnnotationConfigs (-want +got):\n%s", diff)
	}

	for _, bad := range []store.AnnotationConfig{
		{Name: "", Type: store.Freeform},
		{Name: "x", Type: "SLIDER"},
		{Name: "x", Type: store.Categorical},
		{Name: "x", Type: store.Categorical, Values: []store.CategoricalValue{{Label: "a"}, {Label: "a"}}},
		{Name: "x", Type: store.Continuous, LowerBound: ptr(5.0), UpperBound: ptr(1.0)},
		{Name: "x", Type: store.Freeform, Direction: "UP"},
	} {
		if _, err := s.SaveAnnotationConfig(ctx, bad); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("SaveAnnotationConfig(%+v) = %v, want ErrInvalidArgument", bad, err)
		}
	}

	if err := s.DeleteAnnotationConfig(ctx, "csat"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAnnotationConfig(ctx, "csat"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAnnotationConfig of a deleted config = %v, want ErrNotFound", err)
	}
	if got, err := s.AnnotationConfigs(ctx); err != nil || len(got) != 1 || got[0].Name != "correctness" {
		t.Errorf("AnnotationConfigs after a delete = %+v, %v", got, err)
	}
}
