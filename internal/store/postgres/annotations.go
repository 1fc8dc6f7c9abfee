package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// upsertSQL is the upsert statement of each kind, on (name, entity, identifier).
var upsertSQL = func() map[store.AnnotationKind]string {
	out := map[store.AnnotationKind]string{}
	for kind, t := range schema.AnnotationTables {
		cols, vals, conflict := t.FK, "$1", t.FK
		if kind == store.DocumentAnnotation {
			cols += ", document_position"
			vals += ", $15"
			conflict += ", document_position"
		}
		out[kind] = fmt.Sprintf(`INSERT INTO %s (%s, name, label, score, explanation, metadata, annotator_kind,
				identifier, source, user_id, created_at, updated_at, user_name, api_key_name)
			VALUES (%s, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (name, %s, identifier) DO UPDATE SET label = excluded.label, score = excluded.score,
				explanation = excluded.explanation, metadata = excluded.metadata, annotator_kind = excluded.annotator_kind,
				source = excluded.source, user_id = excluded.user_id, user_name = excluded.user_name,
				api_key_name = excluded.api_key_name, updated_at = excluded.updated_at
			RETURNING id`, t.Table, cols, vals, conflict)
	}
	return out
}()

// queueAnnotation queues the upsert of a on the entity with row id entity.
func queueAnnotation(b *pgx.Batch, a store.Annotation, entity, now int64) *pgx.QueuedQuery {
	meta := string(a.Metadata)
	if meta == "" || meta == "null" {
		meta = "{}"
	}
	source := a.Source
	if source == "" {
		source = "API"
	}
	args := []any{entity, text(a.Name), optText(a.Label), a.Score, optText(a.Explanation), jsonb([]byte(meta)),
		text(a.AnnotatorKind), text(a.Identifier), text(source), pgtype.Int8{Int64: a.UserID, Valid: a.UserID != 0}, now, now}
	args = append(args, nullText(a.UserName), nullText(a.KeyName))
	if a.Kind == store.DocumentAnnotation {
		args = append(args, a.DocumentPosition)
	}
	return b.Queue(upsertSQL[a.Kind], args...)
}

func optText(s *string) pgtype.Text {
	if s == nil {
		return pgtype.Text{}
	}
	return pgtype.Text{String: text(*s), Valid: true}
}

// UpsertAnnotations writes annotations all-or-nothing.
func (s *Store) UpsertAnnotations(ctx context.Context, anns []store.Annotation) ([]int64, error) {
	if len(anns) == 0 {
		return nil, nil
	}
	for _, a := range anns {
		if _, err := schema.AnnotationTableFor(a.Kind); err != nil {
			return nil, err
		}
	}
	ids := groupEntityIDs(anns)
	kinds := make([]store.AnnotationKind, 0, len(ids))
	for kind := range ids {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	out := make([]int64, len(anns))
	err := s.inTx(ctx, "write annotations", func(tx pgx.Tx) error {
		rows := map[store.AnnotationKind]map[string]int64{}
		for _, kind := range kinds {
			t := schema.AnnotationTables[kind]
			found, err := lookupRows(ctx, tx, t, ids[kind])
			if err != nil {
				return err
			}
			var missing []string
			for _, id := range ids[kind] {
				if _, ok := found[id]; !ok {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				return &store.MissingError{Kind: kind, IDs: missing}
			}
			rows[kind] = found
		}
		now := nowNanos()
		b := &pgx.Batch{}
		for i, a := range anns {
			queueAnnotation(b, a, rows[a.Kind][text(a.EntityID())], now).QueryRow(func(row pgx.Row) error {
				return row.Scan(&out[i])
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func groupEntityIDs(anns []store.Annotation) map[store.AnnotationKind][]string {
	out := map[store.AnnotationKind][]string{}
	seen := map[string]bool{}
	for _, a := range anns {
		k := string(a.Kind) + "\x00" + a.EntityID()
		if !seen[k] {
			seen[k] = true
			out[a.Kind] = append(out[a.Kind], text(a.EntityID()))
		}
	}
	return out
}

func lookupRows(ctx context.Context, tx pgx.Tx, t schema.AnnotationTable, ids []string) (map[string]int64, error) {
	// Another trace may reuse a span id: the first span stored with it
	// takes the annotation, as SpanByID finds it.
	rows, err := tx.Query(ctx, fmt.Sprintf("SELECT DISTINCT ON (%[1]s) %[1]s, id FROM %[2]s WHERE %[1]s = ANY($1) ORDER BY %[1]s, id",
		t.EntityKey, t.Entity), ids)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", t.Entity, err)
	}
	found := make(map[string]int64, len(ids))
	if err := scanNameIDs(rows, found); err != nil {
		return nil, fmt.Errorf("look up %s: %w", t.Entity, err)
	}
	return found, nil
}

// Annotations lists a project's annotations of one kind, newest first.
func (s *Store) Annotations(ctx context.Context, q store.AnnotationQuery) ([]store.Annotation, error) {
	query, args, err := annotationsQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s annotations: %w", q.Kind, err)
	}
	defer rows.Close()
	var out []store.Annotation
	for rows.Next() {
		a := store.Annotation{Kind: q.Kind}
		var entity string
		var meta []byte
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
		a.Metadata = compactJSON(meta)
		out = append(out, a)
	}
	return out, rows.Err()
}

// annotationsQuery is the SQL of Annotations.
func annotationsQuery(q store.AnnotationQuery) (string, []any, error) {
	t, err := schema.AnnotationTableFor(q.Kind)
	if err != nil {
		return "", nil, err
	}
	docPos := "0"
	if q.Kind == store.DocumentAnnotation {
		docPos = "a.document_position"
	}
	var w where
	w.add("e.project_id = " + w.arg(q.ProjectID))
	order, idTest := "a.id", "e."+t.EntityKey
	switch {
	case len(q.EntityIDs) > 0 && len(q.SpanRowIDs) > 0 && t.Entity == "spans":
		w.add("a." + t.FK + " = ANY(" + w.arg(q.SpanRowIDs) + ")")
	case len(q.EntityIDs) > 0 && len(q.TraceRowIDs) > 0 && t.Entity == "traces":
		w.add("a." + t.FK + " = ANY(" + w.arg(q.TraceRowIDs) + ")")
	case len(q.EntityIDs) > 0 && len(q.TraceRowIDs) > 0 && t.Entity == "spans":
		w.add("e.trace_rowid = ANY(" + w.arg(q.TraceRowIDs) + ")")
	}
	if len(w.conds) > 1 {
		// Found through the row ids of the page's spans or traces, the
		// project and ids then tested on the rows ("+ 0" and "|| ''" keep
		// them from being looked up in spans_project_id, spans_span_id or
		// traces_trace_id_key instead: a generic plan, not knowing the
		// project holds nearly every span, ANDed the whole project's
		// entries of spans_project_id into the page's, 0.5 s at 1M spans),
		// and the few annotations found sorted: walking the primary key
		// newest first, which the LIMIT can make look cheap, would test
		// every annotation of the table.
		w.conds[0] = "e.project_id + 0 = $1"
		order, idTest = "a.id + 0", "e."+t.EntityKey+" || ''"
	}
	w.in(idTest, q.EntityIDs)
	w.in("a.identifier", q.Identifiers)
	w.in("a.name", q.IncludeNames)
	if len(q.ExcludeNames) > 0 {
		w.add("NOT (a.name = ANY(" + w.arg(texts(q.ExcludeNames)) + "))")
	}
	if q.Cursor > 0 {
		w.add("a.id <= " + w.arg(q.Cursor))
	}
	query := fmt.Sprintf(`SELECT a.id, e.%s, %s, a.name, a.label, a.score, a.explanation, a.metadata, a.annotator_kind,
			a.identifier, a.source, coalesce(a.user_id, 0), coalesce(a.user_name, ''), coalesce(a.api_key_name, ''),
			a.created_at, a.updated_at
		FROM %s a JOIN %s e ON e.id = a.%s%s ORDER BY %s DESC%s`,
		t.EntityKey, docPos, t.Table, t.Entity, t.FK, w.clause(), order, w.limit(q.Limit))
	return query, w.args, nil
}

// DeleteAnnotations deletes a project's annotations matching d.
func (s *Store) DeleteAnnotations(ctx context.Context, d store.AnnotationDelete) (int64, error) {
	t, err := schema.AnnotationTableFor(d.Kind)
	if err != nil {
		return 0, err
	}
	var w where
	w.add(fmt.Sprintf("%s IN (SELECT id FROM %s WHERE project_id = %s)", t.FK, t.Entity, w.arg(d.ProjectID)))
	w.in("name", d.Names)
	w.in("identifier", d.Identifiers)
	w.in("annotator_kind", d.AnnotatorKinds)
	if d.StartTime != 0 {
		w.add("updated_at >= " + w.arg(d.StartTime))
	}
	if d.EndTime != 0 {
		w.add("updated_at < " + w.arg(d.EndTime))
	}
	if len(w.conds) == 1 && !d.All {
		return 0, fmt.Errorf("deleting every %s annotation of a project needs All: %w", d.Kind, store.ErrInvalidArgument)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM "+t.Table+w.clause(), w.args...)
	if err != nil {
		return 0, fmt.Errorf("delete %s annotations: %w", d.Kind, err)
	}
	return tag.RowsAffected(), nil
}
