package postgres

import (
	"context"
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
const annotationSummarySQL = `WITH a AS (
	SELECT a.name, a.%[2]s AS entity, a.label, a.score
	FROM %[1]s a%[3]s
	WHERE %[4]s AND (a.label IS NOT NULL OR a.score IS NOT NULL)
), per AS (
	SELECT name, entity, count(*) AS n, count(label) AS nl, avg(score) AS s FROM a GROUP BY name, entity
), names AS (
	SELECT name, sum(n)::bigint AS n, count(*) AS entities, count(s) AS scored, avg(s) AS mean,
		count(*) FILTER (WHERE nl > 0) AS labelled
	FROM per GROUP BY name
)
SELECT name, NULL::text, n, entities, scored, coalesce(mean, 0)::float8 FROM names
UNION ALL
SELECT a.name, a.label, count(*), 0::bigint, 0::bigint, (sum(1.0 / per.nl) / names.labelled)::float8
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
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("summarise %s annotations of project %d: %w", kind, projectID, err)
	}
	defer rows.Close()
	var out []store.AnnotationSummary
	byName := map[string]int{}
	for rows.Next() {
		var name string
		var label *string
		var n, entities, scored int64
		var value float64
		if err := rows.Scan(&name, &label, &n, &entities, &scored, &value); err != nil {
			return nil, fmt.Errorf("read %s annotation summary: %w", kind, err)
		}
		if label == nil {
			byName[name] = len(out)
			out = append(out, store.AnnotationSummary{Name: name, Count: n, Entities: entities, ScoreCount: scored, MeanScore: value})
			continue
		}
		i, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("summarise %s annotations: label %q before its name %q", kind, *label, name)
		}
		out[i].Labels = append(out[i].Labels, store.AnnotationLabel{Label: *label, Count: n, Fraction: value})
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

// annotationSummaryQuery is the SQL of AnnotationSummaries over table t.
func annotationSummaryQuery(t schema.AnnotationTable, kind store.AnnotationKind, projectID, start, end int64) (string, []any) {
	// Sessions count when they overlap the range, spans and traces when
	// they start in it; span and trace annotations carry their entity's
	// project and start time (migration 0013), so they are read alone.
	var w where
	join := ""
	if kind == store.SessionAnnotation {
		join = " JOIN " + t.Entity + " e ON e.id = a." + t.FK
		w.add("e.project_id = " + w.arg(projectID))
		w.add("e.end_time >= " + w.arg(start))
		if end != 0 {
			w.add("e.start_time < " + w.arg(end))
		}
	} else {
		w.add("a.project_id = " + w.arg(projectID))
		w.add("a.entity_start >= " + w.arg(start))
		if end != 0 {
			w.add("a.entity_start < " + w.arg(end))
		}
	}
	cond := w.clause()[len(" WHERE "):]
	return fmt.Sprintf(annotationSummarySQL, t.Table, t.FK, join, cond), w.args
}
