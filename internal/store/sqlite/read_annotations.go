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

// annotationSummarySQL summarises one annotation table per name, entity by
// entity first so that an entity annotated by several identifiers weighs as
// much as one annotated once. It returns a row per name (label NULL) and a
// row per (name, label) whose last column is the label's mean share.
//
// CROSS JOIN makes SQLite start from the annotations and look each entity
// up by row id: annotations are few next to spans, and a busy month of
// spans in range must not be scanned to find them.
const annotationSummarySQL = `WITH a AS (
	SELECT a.name, a.%[2]s AS entity, a.label, a.score
	FROM %[1]s a CROSS JOIN %[3]s e ON e.id = a.%[2]s
	WHERE e.project_id = ? AND %[4]s AND (a.label IS NOT NULL OR a.score IS NOT NULL)
), per AS (
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
	args := []any{projectID}
	// Sessions count when they overlap the range, spans and traces when
	// they start in it.
	inRange := "e.start_time >= ?"
	if kind == store.SessionAnnotation {
		inRange = "e.end_time >= ?"
	}
	args = append(args, start)
	if end != 0 {
		inRange += " AND e.start_time < ?"
		args = append(args, end)
	}
	query := fmt.Sprintf(annotationSummarySQL, t.Table, t.FK, t.Entity, inRange)
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
