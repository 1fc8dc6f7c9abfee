package sqlite

import (
	"strings"
	"testing"
)

// A project's retrieval metrics read its document annotations on their own
// index of project and start time, newest first, and look up only the
// spans of the scores read, in the index's order: never a walk over the
// project's spans, nor a sort of every score in range.
func TestDocumentScoresPlan(t *testing.T) {
	s, pid := planStore(t)
	plan := queryPlan(t, s, documentScoresQuery, pid, int64(1_750_000_000e9), int64(1_750_003_600e9), 5000)
	if !strings.Contains(plan, "SEARCH d USING COVERING INDEX document_annotations_project_start (project_id=? AND entity_start>? AND entity_start<?)") ||
		!strings.Contains(plan, "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("document scores are not read on document_annotations_project_start:\n%s", plan)
	}
}

// A score series by the hour or longer sums the range's whole hours from
// annotation_name_hours and reads only the parts of an hour at its ends
// from the annotations' own index.
func TestScoreSeriesPlan(t *testing.T) {
	s, pid := planStore(t)
	start := int64(1_750_000_000e9) // inside an hour
	q, args := scoreSeriesQuery(pid, start, start+30*86400e9+600e9, 86400e9)
	plan := queryPlan(t, s, q, args...)
	if !strings.Contains(plan, "SEARCH annotation_name_hours USING PRIMARY KEY (project_id=? AND kind=? AND hour>? AND hour<?)") ||
		strings.Count(plan, "COVERING INDEX span_annotations_project_start (project_id=? AND entity_start>? AND entity_start<?)") != 2 ||
		strings.Contains(plan, " spans") {
		t.Errorf("the score series does not read the hourly sums and the ends of the range:\n%s", plan)
	}
}
