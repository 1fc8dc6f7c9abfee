package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

func annotationRowID(kind store.AnnotationKind, entity int64, name, identifier string, pos int) int64 {
	return rowID("annotation", string(kind), strconv.FormatInt(entity, 10), name, identifier, strconv.Itoa(pos))
}

type entityRow struct{ id, project int64 }

// lookupEntities finds the row ids and projects of the entities annotations
// name. Another trace may reuse a span id: the first span stored with it
// takes the annotation, as SpanByID finds it.
func (s *Store) lookupEntities(ctx context.Context, kind store.AnnotationKind, ids []string) (map[string]entityRow, error) {
	var sql string
	switch kind {
	case store.SpanAnnotation, store.DocumentAnnotation:
		sql = "SELECT span_id, id, project_id FROM spans FINAL WHERE span_id IN {ids:Array(String)} ORDER BY version, id LIMIT 1 BY span_id"
	case store.TraceAnnotation:
		sql = "SELECT trace_id, id, project_id FROM traces FINAL WHERE trace_id IN {ids:Array(String)}"
	case store.SessionAnnotation:
		sql = "SELECT session_id, id, project_id FROM sessions FINAL WHERE session_id IN {ids:Array(String)}"
	default:
		return nil, fmt.Errorf("%w: annotation kind %q", store.ErrInvalidArgument, kind)
	}
	rows, err := s.conn.Query(ctx, sql, ch.Named("ids", ids))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("look up %ss: %w", kind, err))
	}
	defer rows.Close()
	out := map[string]entityRow{}
	for rows.Next() {
		var key string
		var e entityRow
		if err := rows.Scan(&key, &e.id, &e.project); err != nil {
			return nil, err
		}
		out[key] = e
	}
	return out, classify(ctx, rows.Err())
}

// UpsertAnnotations writes annotations all-or-nothing: every entity is
// looked up first, and one insert writes them all. An annotation of the
// same (name, entity, identifier) replaces the one stored, keeping its
// creation time.
func (s *Store) UpsertAnnotations(ctx context.Context, anns []store.Annotation) ([]int64, error) {
	if len(anns) == 0 {
		return nil, nil
	}
	byKind := map[store.AnnotationKind][]string{}
	seen := map[string]bool{}
	for _, a := range anns {
		switch a.Kind {
		case store.SpanAnnotation, store.TraceAnnotation, store.SessionAnnotation, store.DocumentAnnotation:
		default:
			return nil, fmt.Errorf("%w: annotation kind %q", store.ErrInvalidArgument, a.Kind)
		}
		k := string(a.Kind) + "\x00" + a.EntityID()
		if !seen[k] {
			seen[k] = true
			byKind[a.Kind] = append(byKind[a.Kind], text(a.EntityID()))
		}
	}
	entities := map[store.AnnotationKind]map[string]entityRow{}
	for _, kind := range []store.AnnotationKind{store.DocumentAnnotation, store.SessionAnnotation, store.SpanAnnotation, store.TraceAnnotation} {
		ids := byKind[kind]
		if len(ids) == 0 {
			continue
		}
		found, err := s.lookupEntities(ctx, kind, ids)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, id := range ids {
			if _, ok := found[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, &store.MissingError{Kind: kind, IDs: missing}
		}
		entities[kind] = found
	}
	rows := make([]entityRow, len(anns))
	for i, a := range anns {
		rows[i] = entities[a.Kind][text(a.EntityID())]
	}
	return s.writeAnnotations(ctx, anns, rows)
}

// writeAnnotations writes annotations on the entities whose rows are given,
// one for each.
func (s *Store) writeAnnotations(ctx context.Context, anns []store.Annotation, entities []entityRow) ([]int64, error) {
	out := make([]int64, len(anns))
	for i, a := range anns {
		out[i] = annotationRowID(a.Kind, entities[i].id, text(a.Name), text(a.Identifier), a.DocumentPosition)
	}
	created := map[int64]int64{}
	rows, err := s.conn.Query(ctx, "SELECT id, created_at FROM annotations FINAL WHERE id IN {ids:Array(Int64)}", ch.Named("ids", out))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("write annotations: %w", err))
	}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return nil, err
		}
		created[id] = at
	}
	rows.Close()
	now := nowNanos()
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO annotations")
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("write annotations: %w", err))
	}
	for i, a := range anns {
		e := entities[i]
		meta := string(a.Metadata)
		if meta == "" || meta == "null" {
			meta = "{}"
		}
		source := a.Source
		if source == "" {
			source = "API"
		}
		createdAt, ok := created[out[i]]
		if !ok {
			createdAt = now
		}
		var label, explanation *string
		if a.Label != nil {
			l := text(*a.Label)
			label = &l
		}
		if a.Explanation != nil {
			x := text(*a.Explanation)
			explanation = &x
		}
		// Later annotations of one batch replace earlier ones of the same
		// identity, as the other backends' upserts in order do.
		if err := batch.Append(out[i], string(a.Kind), e.id, text(a.EntityID()), e.project, int32(a.DocumentPosition),
			text(a.Name), label, a.Score, explanation, text(meta), text(a.AnnotatorKind), text(a.Identifier), text(source),
			a.UserID, text(a.UserName), text(a.KeyName), createdAt, now, now+int64(i), uint8(0)); err != nil {
			return nil, fmt.Errorf("write annotations: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return nil, classify(ctx, fmt.Errorf("write annotations: %w", err))
	}
	return out, nil
}

const annotationColumns = `id, entity_id, document_position, name, label, score, explanation, metadata, annotator_kind,
	identifier, source, user_id, user_name, api_key_name, created_at, updated_at`

// Annotations lists a project's annotations of one kind, newest first.
func (s *Store) Annotations(ctx context.Context, q store.AnnotationQuery) ([]store.Annotation, error) {
	var w where
	w.add("kind = " + w.arg("String", string(q.Kind)))
	w.add("project_id = " + w.arg("Int64", q.ProjectID))
	w.in("entity_id", q.EntityIDs)
	w.in("identifier", q.Identifiers)
	w.in("name", q.IncludeNames)
	if len(q.ExcludeNames) > 0 {
		w.add("name NOT IN " + w.arg("Array(String)", q.ExcludeNames))
	}
	if q.Cursor > 0 {
		w.add("(created_at, id) <= (ifNull((SELECT max(created_at) FROM annotations WHERE id = " + w.arg("Int64", q.Cursor) +
			"), 9223372036854775807), " + w.arg("Int64", q.Cursor) + ")")
	}
	rows, err := s.conn.Query(ctx, "SELECT "+annotationColumns+" FROM annotations FINAL"+w.clause()+
		" ORDER BY created_at DESC, id DESC"+limit(q.Limit), w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("list %s annotations: %w", q.Kind, err))
	}
	defer rows.Close()
	var out []store.Annotation
	for rows.Next() {
		a := store.Annotation{Kind: q.Kind}
		var entity, meta string
		var pos int32
		if err := rows.Scan(&a.RowID, &entity, &pos, &a.Name, &a.Label, &a.Score, &a.Explanation, &meta,
			&a.AnnotatorKind, &a.Identifier, &a.Source, &a.UserID, &a.UserName, &a.KeyName, &a.CreatedAt, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("read annotation: %w", err)
		}
		a.DocumentPosition = int(pos)
		switch q.Kind {
		case store.TraceAnnotation:
			a.TraceID = entity
		case store.SessionAnnotation:
			a.SessionID = entity
		default:
			a.SpanID = entity
		}
		a.Metadata = []byte(meta)
		out = append(out, a)
	}
	return out, classify(ctx, rows.Err())
}

// DeleteAnnotations deletes a project's annotations matching d, writing a
// deleted version of each.
func (s *Store) DeleteAnnotations(ctx context.Context, d store.AnnotationDelete) (int64, error) {
	var w where
	w.add("kind = " + w.arg("String", string(d.Kind)))
	w.add("project_id = " + w.arg("Int64", d.ProjectID))
	base := len(w.conds)
	w.in("name", d.Names)
	w.in("identifier", d.Identifiers)
	w.in("annotator_kind", d.AnnotatorKinds)
	if d.StartTime != 0 {
		w.add("updated_at >= " + w.arg("Int64", d.StartTime))
	}
	if d.EndTime != 0 {
		w.add("updated_at < " + w.arg("Int64", d.EndTime))
	}
	if len(w.conds) == base && !d.All {
		return 0, fmt.Errorf("deleting every %s annotation of a project needs All: %w", d.Kind, store.ErrInvalidArgument)
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM annotations FINAL"+w.clause(), w.args...).Scan(&n); err != nil {
		return 0, classify(ctx, fmt.Errorf("delete %s annotations: %w", d.Kind, err))
	}
	if n == 0 {
		return 0, nil
	}
	cols := "id, kind, entity_rowid, entity_id, project_id, document_position, name, label, score, explanation, metadata, " +
		"annotator_kind, identifier, source, user_id, user_name, api_key_name, created_at, updated_at"
	args := append(w.args, ch.Named("now", nowNanos()))
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO annotations ("+cols+", version, is_deleted) SELECT "+cols+
		", greatest({now:Int64}, version + 1), 1 FROM annotations FINAL"+w.clause(), args...); err != nil {
		return 0, classify(ctx, fmt.Errorf("delete %s annotations: %w", d.Kind, err))
	}
	return int64(n), nil
}

// entityTimes selects the row id, start and end of a project's entities
// of one kind, for the summaries' time range.
func entityTimes(kind store.AnnotationKind) string {
	switch kind {
	case store.SpanAnnotation:
		return "SELECT id, start_time, end_time FROM spans FINAL WHERE project_id = {p:Int64}"
	case store.TraceAnnotation:
		return "SELECT id, start_time, end_time FROM (" + traceStats("project_id = {p:Int64}") + ")"
	}
	return "SELECT session_rowid AS id, min(start_time) AS start_time, max(end_time) AS end_time FROM (" +
		traceStats("project_id = {p:Int64} AND session_rowid != 0") + ") GROUP BY session_rowid"
}

// AnnotationSummaries summarises a project's annotations of one kind per
// name, over the entities in [start, end): spans and traces that started
// in it, sessions that overlap it. The annotations are read, one row each,
// and summed here.
func (s *Store) AnnotationSummaries(ctx context.Context, projectID int64, kind store.AnnotationKind, start, end int64) ([]store.AnnotationSummary, error) {
	switch kind {
	case store.SpanAnnotation, store.TraceAnnotation, store.SessionAnnotation:
	default:
		return nil, fmt.Errorf("summaries of %s annotations: %w", kind, store.ErrInvalidArgument)
	}
	var w where
	w.args = []any{ch.Named("p", projectID)}
	if kind == store.SessionAnnotation {
		w.add("e.end_time >= " + w.arg("Int64", start))
	} else {
		w.add("e.start_time >= " + w.arg("Int64", start))
	}
	if end != 0 {
		w.add("e.start_time < " + w.arg("Int64", end))
	}
	w.add("(a.label IS NOT NULL OR a.score IS NOT NULL)")
	rows, err := s.conn.Query(ctx, `SELECT a.name, a.entity_rowid, a.label, a.score
		FROM (SELECT * FROM annotations FINAL WHERE kind = {k:String} AND project_id = {p:Int64}) AS a
		JOIN (`+entityTimes(kind)+`) AS e ON e.id = a.entity_rowid`+w.clause(), append(w.args, ch.Named("k", string(kind)))...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("summarise %s annotations of project %d: %w", kind, projectID, err))
	}
	defer rows.Close()
	type entity struct {
		scores []float64
		labels map[string]int64
		nLabel int64
	}
	type summary struct {
		count    int64
		entities map[int64]*entity
		labels   map[string]int64
	}
	byName := map[string]*summary{}
	for rows.Next() {
		var name string
		var id int64
		var label *string
		var score *float64
		if err := rows.Scan(&name, &id, &label, &score); err != nil {
			return nil, err
		}
		sm := byName[name]
		if sm == nil {
			sm = &summary{entities: map[int64]*entity{}, labels: map[string]int64{}}
			byName[name] = sm
		}
		sm.count++
		e := sm.entities[id]
		if e == nil {
			e = &entity{labels: map[string]int64{}}
			sm.entities[id] = e
		}
		if score != nil {
			e.scores = append(e.scores, *score)
		}
		if label != nil {
			e.labels[*label]++
			e.nLabel++
			sm.labels[*label]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	var out []store.AnnotationSummary
	for name, sm := range byName {
		o := store.AnnotationSummary{Name: name, Count: sm.count, Entities: int64(len(sm.entities))}
		var sumMeans float64
		labelled := 0
		fractions := map[string]float64{}
		for _, e := range sm.entities {
			if len(e.scores) > 0 {
				var sum float64
				for _, v := range e.scores {
					sum += v
				}
				sumMeans += sum / float64(len(e.scores))
				o.ScoreCount++
			}
			if e.nLabel > 0 {
				labelled++
				for l, n := range e.labels {
					fractions[l] += float64(n) / float64(e.nLabel)
				}
			}
		}
		if o.ScoreCount > 0 {
			o.MeanScore = sumMeans / float64(o.ScoreCount)
		}
		for l, n := range sm.labels {
			o.Labels = append(o.Labels, store.AnnotationLabel{Label: l, Count: n, Fraction: fractions[l] / float64(labelled)})
		}
		store.SortAnnotationLabels(o.Labels)
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b store.AnnotationSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
