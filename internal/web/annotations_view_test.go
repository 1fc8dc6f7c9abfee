package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/store"
)

func TestChipsOf(t *testing.T) {
	label := func(s string) *string { return &s }
	score := func(f float64) *float64 { return &f }
	anns := []store.Annotation{
		{Name: "note", Explanation: label("first look"), AnnotatorKind: "HUMAN"},
		{Name: "thumbs", Label: label("up"), Score: score(1), AnnotatorKind: "HUMAN"},
		{Name: "correctness", Label: label("incorrect"), Score: score(0), AnnotatorKind: "LLM", Identifier: "judge-a"},
		{Name: "correctness", Label: label("correct"), Score: score(1), AnnotatorKind: "LLM", Identifier: "judge-b"},
		{Name: "helpfulness", Score: score(0.75), AnnotatorKind: "CODE"},
		{Name: "note", Explanation: label("second look"), AnnotatorKind: "HUMAN"},
	}
	want := []annChip{
		{Name: "correctness", Value: "incorrect / correct", Title: "correctness (span) · 2 annotations · mean score 0.5"},
		{Name: "helpfulness", Value: "0.75", Title: "helpfulness (span) · CODE"},
		{Name: "thumbs", Value: "up", Thumb: "up", Title: "thumbs (span) · HUMAN · score 1"},
		{Name: "note", Value: "2 notes", Note: true, Title: "first look"},
	}
	if diff := cmp.Diff(want, chipsOf(anns, false), cmp.AllowUnexported(annChip{})); diff != "" {
		t.Errorf("chips (-want +got):\n%s", diff)
	}
}
