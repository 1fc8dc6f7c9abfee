package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// annotationSummarySQL summarises the annotations of the source subquery
// (its rows: name, entity, label, score) per name, entity by entity first
// so that an entity annotated by several identifiers weighs as much as one
// annotated once. It returns a row per name (label NULL) and a row per
// (name, label) whose last column is the label's mean share.
const annotationSummarySQL = `WITH a AS (%s), per AS (
	SELECT name, entity, count(*) AS n, count(label) AS nl, avg(score) AS s FROM a GROUP BY name, entity
), names AS (
	SELECT name, sum(n) AS n, count(*) AS entities, count(s) AS scored, avg(s) AS mean, sum(nl > 0) AS labelled
	FROM per GROUP BY name
)
SELECT name, NULL, n, entities, scored, coalesce(mean, 0) FROM names
UNION ALL
SELECT a.name, a.label, count(*), 0, 0, sum(1.0 / per.nl) / names.labelled
FROM a JOIN per ON per.name = a.name AND per.entity = a.entity JOIN names ON names.name = a.name
WHERE a.label IS NOT NULL GROUP BY a.name, a.label, names.labelled
ORDER BY 2 NULLS FIRST`

// AnnotationSummaries summarises a project's annotations of one kind per name.
func (s *Store) AnnotationSummaries(ctx context.Context, projectID int64, kind store.AnnotationKind, start, end int64) ([]store.AnnotationSummary, error) {
	if kind == store.DocumentAnnotation {
		return nil, fmt.Errorf("summaries of document annotations: %w", store.ErrInvalidArgument)
	}
	t, err := schema.AnnotationTableFor(kind)
	if err != nil {
		return nil, err
	}
	query, args := annotationSummaryQuery(t, kind, projectID, start, end)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("summarise %s annotations of project %d: %w", kind, projectID, err)
	}
	defer rows.Close()
	var out []store.AnnotationSummary
	byName := map[string]int{}
	for rows.Next() {
		var name string
		var label sql.NullString
		var n, entities, scored int64
		var value float64
		if err := rows.Scan(&name, &label, &n, &entities, &scored, &value); err != nil {
			return nil, fmt.Errorf("read %s annotation summary: %w", kind, err)
		}
		if !label.Valid {
			byName[name] = len(out)
			out = append(out, store.AnnotationSummary{Name: name, Count: n, Entities: entities, ScoreCount: scored, MeanScore: value})
			continue
		}
		i, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("summarise %s annotations: label %q before its name %q", kind, label.String, name)
		}
		out[i].Labels = append(out[i].Labels, store.AnnotationLabel{Label: label.String, Count: n, Fraction: value})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarise %s annotations of project %d: %w", kind, projectID, err)
	}
	// Names sort in Go: a database collation may order text otherwise.
	slices.SortFunc(out, func(a, b store.AnnotationSummary) int { return strings.Compare(a.Name, b.Name) })
	for i := range out {
		store.SortAnnotationLabels(out[i].Labels)
	}
	return out, nil
}

// annotationSummaryQuery is the SQL of AnnotationSummaries. Span and trace
// annotations keep their entity's project and start time (migration 0019),
// so those in range are read on an index of the annotations alone.
// Sessions count when they overlap the range, so their annotations are
// tested on the session, which CROSS JOIN makes SQLite look up by row id
// from the annotations, which are few next to a busy month's sessions.
func annotationSummaryQuery(t schema.AnnotationTable, kind store.AnnotationKind, projectID, start, end int64) (string, []any) {
	args := []any{projectID, start}
	if kind != store.SessionAnnotation {
		source := "SELECT name, " + t.FK + " AS entity, label, score FROM " + t.Table +
			" WHERE project_id = ? AND entity_start >= ?"
		if end != 0 {
			source += " AND entity_start < ?"
			args = append(args, end)
		}
		return fmt.Sprintf(annotationSummarySQL, source+" AND (label IS NOT NULL OR score IS NOT NULL)"), args
	}
	source := "SELECT a.name, a." + t.FK + " AS entity, a.label, a.score FROM " + t.Table + " a CROSS JOIN " + t.Entity +
		" e ON e.id = a." + t.FK + " WHERE e.project_id = ? AND e.end_time >= ?"
	if end != 0 {
		source += " AND e.start_time < ?"
		args = append(args, end)
	}
	return fmt.Sprintf(annotationSummarySQL, source+" AND (a.label IS NOT NULL OR a.score IS NOT NULL)"), args
}
