package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// annotationSumsSQL sums the annotations of the source subquery (its
// rows: name, entity, label, score) per name, entity by entity first so
// that an entity annotated by several identifiers weighs as much as one
// annotated once. Its rows are those of annotation_name_hours (label NULL)
// and annotation_label_hours (migration 0022): a row per name with the
// annotations, entities, scored entities, the sum of their mean scores and
// the labelled entities; a row per (name, label) with the annotations and
// the sum over entities of their share of the label.
const annotationSumsSQL = `WITH a AS (%s), per AS (
	SELECT name, entity, count(*) AS n, count(label) AS nl, avg(score) AS s FROM a GROUP BY name, entity
)
SELECT name, NULL AS label, sum(n) AS n, count(*) AS entities, count(s) AS scored, coalesce(sum(s), 0) AS score_sum,
	sum(nl > 0) AS labelled FROM per GROUP BY name
UNION ALL
SELECT a.name, a.label, count(*), 0, 0, sum(1.0 / per.nl), 0
FROM a JOIN per ON per.name = a.name AND per.entity = a.entity WHERE a.label IS NOT NULL GROUP BY a.name, a.label`

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
	labelled := map[string]int64{}
	for rows.Next() {
		var name string
		var label sql.NullString
		var n, entities, scored, withLabel int64
		var sum float64
		if err := rows.Scan(&name, &label, &n, &entities, &scored, &sum, &withLabel); err != nil {
			return nil, fmt.Errorf("read %s annotation summary: %w", kind, err)
		}
		if !label.Valid {
			byName[name] = len(out)
			labelled[name] = withLabel
			var mean float64
			if scored > 0 {
				mean = sum / float64(scored)
			}
			out = append(out, store.AnnotationSummary{Name: name, Count: n, Entities: entities, ScoreCount: scored, MeanScore: mean})
			continue
		}
		i, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("summarise %s annotations: label %q before its name %q", kind, label.String, name)
		}
		out[i].Labels = append(out[i].Labels, store.AnnotationLabel{Label: label.String, Count: n, Fraction: sum / float64(labelled[name])})
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

// annotationSummaryQuery is the SQL of AnnotationSummaries: a row per name
// (label NULL), then a row per (name, label), each with the sums of
// annotationSumsSQL.
//
// Span and trace annotations are summed by the hour of their entity's
// start in annotation_name_hours and annotation_label_hours (migration
// 0022): the whole hours of the range come from there, and the parts of an
// hour at either end from the annotations themselves, which keep their
// entity's project and start time (0021) and are read on their own index.
// Sessions count when they overlap the range, so their annotations are
// tested on the session, which CROSS JOIN makes SQLite look up by row id
// from the annotations, which are few next to a busy month's sessions.
func annotationSummaryQuery(t schema.AnnotationTable, kind store.AnnotationKind, projectID, start, end int64) (string, []any) {
	var source string
	var args []any
	var hours []string
	if kind == store.SessionAnnotation {
		source = "SELECT a.name, a." + t.FK + " AS entity, a.label, a.score FROM " + t.Table + " a CROSS JOIN " + t.Entity +
			" e ON e.id = a." + t.FK + " WHERE e.project_id = ? AND e.end_time >= ?"
		args = []any{projectID, start}
		if end != 0 {
			source += " AND e.start_time < ?"
			args = append(args, end)
		}
		source += " AND (a.label IS NOT NULL OR a.score IS NOT NULL)"
	} else {
		first, last, whole, parts := hourSplit(start, end)
		if whole {
			for _, table := range []string{"annotation_name_hours", "annotation_label_hours"} {
				h := "SELECT * FROM " + table + " WHERE project_id = ? AND kind = ? AND hour >= ?"
				args = append(args, projectID, string(kind), first)
				if last != 0 {
					h += " AND hour < ?"
					args = append(args, last)
				}
				hours = append(hours, h)
			}
		}
		if len(parts) == 0 {
			parts = append(parts, [2]int64{start, start}) // none: an empty range keeps the query's shape
		}
		var sel []string
		var partArgs []any
		for _, p := range parts {
			sel = append(sel, "SELECT name, "+t.FK+" AS entity, label, score FROM "+t.Table+
				" WHERE project_id = ? AND entity_start >= ? AND entity_start < ? AND (label IS NOT NULL OR score IS NOT NULL)")
			partArgs = append(partArgs, projectID, p[0], p[1])
		}
		source = strings.Join(sel, " UNION ALL ")
		args = append(partArgs, args...)
	}
	query := fmt.Sprintf(annotationSumsSQL, source)
	if len(hours) == 2 {
		query += `
UNION ALL
SELECT name, NULL, annotations, entities, scored, score_sum, labelled FROM (` + hours[0] + `)
UNION ALL
SELECT name, label, annotations, 0, 0, share, 0 FROM (` + hours[1] + `)`
	}
	return `SELECT name, label, sum(n), sum(entities), sum(scored), sum(score_sum), sum(labelled) FROM (` + query + `)
GROUP BY name, label ORDER BY label NULLS FIRST`, args
}

const hourNs = int64(time.Hour)

// hourSplit splits the range [start, end) (end 0 for open) into its whole
// hours [first, last) (last 0 for open), whole saying there are some, and
// the parts of an hour left at either end, which are the whole range when
// it has no whole hour.
func hourSplit(start, end int64) (first, last int64, whole bool, parts [][2]int64) {
	first = floorHour(start)
	if first < start {
		first += hourNs
	}
	if end != 0 {
		last = floorHour(end)
	}
	if end != 0 && first >= last {
		return first, last, false, [][2]int64{{start, end}}
	}
	if start < first {
		parts = append(parts, [2]int64{start, first})
	}
	if end != 0 && last < end {
		parts = append(parts, [2]int64{last, end})
	}
	return first, last, true, parts
}

// floorHour is the start of the hour t falls in.
func floorHour(t int64) int64 {
	return t - ((t%hourNs)+hourNs)%hourNs
}
