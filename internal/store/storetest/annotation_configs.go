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
		{Name: "x", Type: store.Continuous, LowerBound: ptr(1.0), UpperBound: ptr(1.0)},
		{Name: "x", Type: store.Continuous, Threshold: ptr(1.0)},
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
	testCreateAndUpdateConfigs(t, s, saved.ID)
	testProjectConfigs(t, s)
}

// testCreateAndUpdateConfigs creates configs under new names only and
// updates one by id, renaming it, as Phoenix's REST API does.
func testCreateAndUpdateConfigs(t *testing.T, s store.Store, correctnessID int64) {
	ctx := context.Background()
	if _, err := s.CreateAnnotationConfig(ctx, store.AnnotationConfig{Name: "correctness", Type: store.Freeform}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAnnotationConfig of a defined name = %v, want ErrConflict", err)
	}
	tone, err := s.CreateAnnotationConfig(ctx, store.AnnotationConfig{Name: "tone", Type: store.Freeform, Threshold: ptr(0.5)})
	if err != nil || tone.ID == 0 || tone.ID == correctnessID {
		t.Fatalf("CreateAnnotationConfig(tone) = %+v, %v; want a new id", tone, err)
	}
	if _, err := s.CreateAnnotationConfig(ctx, store.AnnotationConfig{Name: "y", Type: store.Categorical}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("CreateAnnotationConfig of an invalid config = %v, want ErrInvalidArgument", err)
	}

	// Renamed, under the same id.
	voice := store.AnnotationConfig{ID: tone.ID, Name: "voice", Type: store.Continuous, Direction: "MINIMIZE", LowerBound: ptr(0.0)}
	if got, err := s.UpdateAnnotationConfig(ctx, voice); err != nil || got.ID != tone.ID {
		t.Fatalf("UpdateAnnotationConfig(rename) = %+v, %v", got, err)
	}
	renamed := store.AnnotationConfig{ID: tone.ID, Name: "correctness", Type: store.Freeform}
	if _, err := s.UpdateAnnotationConfig(ctx, renamed); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateAnnotationConfig to a name taken = %v, want ErrConflict", err)
	}
	if _, err := s.UpdateAnnotationConfig(ctx, store.AnnotationConfig{ID: 1 << 40, Name: "z", Type: store.Freeform}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAnnotationConfig of no config = %v, want ErrNotFound", err)
	}
	got, err := s.AnnotationConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
		if c.Name == "voice" && (c.ID != tone.ID || c.Direction != "MINIMIZE" || c.Threshold != nil) {
			t.Errorf("the renamed config = %+v, want id %d, MINIMIZE, no threshold", c, tone.ID)
		}
	}
	if diff := cmp.Diff([]string{"correctness", "voice"}, names); diff != "" {
		t.Errorf("configs after a rename (-want +got):\n%s", diff)
	}
}

// testProjectConfigs assigns configs to projects, idempotently, replaces a
// project's set, and drops assignments with their config or project.
func testProjectConfigs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, err := s.CreateProject(ctx, "configs-a", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateProject(ctx, "configs-b", "")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, name := range []string{"p-one", "p-two", "p-three"} {
		c, err := s.CreateAnnotationConfig(ctx, store.AnnotationConfig{Name: name, Type: store.Freeform})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = c.ID
	}
	assigned := func(p store.Project) []string {
		t.Helper()
		cs, err := s.ProjectAnnotationConfigs(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, c := range cs {
			names = append(names, c.Name)
		}
		return names
	}
	check := func(what string, p store.Project, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if diff := cmp.Diff(want, assigned(p)); diff != "" {
			t.Errorf("%s: the configs of %s (-want +got):\n%s", what, p.Name, diff)
		}
	}
	check("at first", a)
	for range 2 { // the second time changes nothing
		if err := s.AssignAnnotationConfig(ctx, a.ID, ids["p-two"], true); err != nil {
			t.Fatal(err)
		}
		if err := s.AssignAnnotationConfig(ctx, a.ID, ids["p-one"], true); err != nil {
			t.Fatal(err)
		}
	}
	check("assigned", a, "p-one", "p-two")
	check("assigned to another project", b)
	if err := s.AssignAnnotationConfig(ctx, a.ID, 1<<40, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AssignAnnotationConfig of no config = %v, want ErrNotFound", err)
	}
	for range 2 {
		if err := s.AssignAnnotationConfig(ctx, a.ID, ids["p-two"], false); err != nil {
			t.Fatal(err)
		}
	}
	check("unassigned", a, "p-one")

	if err := s.ReplaceProjectAnnotationConfigs(ctx, b.ID, []int64{ids["p-three"], ids["p-two"]}); err != nil {
		t.Fatal(err)
	}
	check("replaced", b, "p-three", "p-two")
	if err := s.ReplaceProjectAnnotationConfigs(ctx, b.ID, []int64{ids["p-one"], 1 << 40}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceProjectAnnotationConfigs with no config = %v, want ErrNotFound", err)
	}
	check("after a refused replace", b, "p-three", "p-two")
	if err := s.ReplaceProjectAnnotationConfigs(ctx, b.ID, []int64{ids["p-one"], ids["p-two"]}); err != nil {
		t.Fatal(err)
	}
	check("replaced again", b, "p-one", "p-two")

	if err := s.DeleteAnnotationConfig(ctx, "p-two"); err != nil {
		t.Fatal(err)
	}
	check("after a config's deletion", b, "p-one")
	if err := s.DeleteProject(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if again, err := s.CreateProject(ctx, "configs-a", ""); err != nil {
		t.Fatal(err)
	} else {
		check("a project made again under the name", again)
	}
	if err := s.ReplaceProjectAnnotationConfigs(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	check("emptied", b)
}
