package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// UpsertAnnotations writes annotations all-or-nothing.
func (s *Store) UpsertAnnotations(ctx context.Context, anns []store.Annotation) ([]int64, error) {
	if len(anns) == 0 {
		return nil, nil
	}
	unlock, err := s.lockWrite(ctx, checkedWrites)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin annotation write: %w", err)
	}
	defer tx.Rollback()
	rows := map[store.AnnotationKind]map[string]int64{}
	for kind, ids := range groupEntityIDs(anns) {
		t, err := schema.AnnotationTableFor(kind)
		if err != nil {
			return nil, err
		}
		found, err := lookupRows(ctx, tx, t, ids)
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
		rows[kind] = found
	}
	// A statement a table, prepared once: compiling one takes compiling
	// the triggers that keep the hourly sums, most of an annotation's time.
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	prepare := func(query string) (*sql.Stmt, error) {
		if st, ok := stmts[query]; ok {
			return st, nil
		}
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		stmts[query] = st
		return st, nil
	}
	now := time.Now().UnixNano()
	out := make([]int64, len(anns))
	for i, a := range anns {
		t, _ := schema.AnnotationTableFor(a.Kind)
		if out[i], err = upsertAnnotation(ctx, prepare, t, a, rows[a.Kind][a.EntityID()], now); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit annotations: %w", err)
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
			out[a.Kind] = append(out[a.Kind], a.EntityID())
		}
	}
	return out
}

func lookupRows(ctx context.Context, tx *sql.Tx, t schema.AnnotationTable, ids []string) (map[string]int64, error) {
	found := make(map[string]int64, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := fmt.Sprintf("SELECT id, %s FROM %s WHERE %s IN (%s)", t.EntityKey, t.Entity, t.EntityKey, placeholders(len(chunk)))
		if t.Entity == "spans" {
			q = spanIDLookup("l.id, l.span_id", len(chunk))
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", t.Entity, err)
		}
		for rows.Next() {
			var row int64
			var id string
			if err := rows.Scan(&row, &id); err != nil {
				rows.Close()
				return nil, err
			}
			// Another trace may reuse a span id: the first span stored
			// with it takes the annotation, as SpanByID finds it.
			if prev, ok := found[id]; !ok || row < prev {
				found[id] = row
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// rowList writes row ids as an SQL list: integers, which need no binding.
func rowList(ids []int64) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(out, ", ")
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// upsertAnnotation writes a, on the statement prepare returns for its
// query.
func upsertAnnotation(ctx context.Context, prepare func(query string) (*sql.Stmt, error), t schema.AnnotationTable, a store.Annotation, entityRow, now int64) (int64, error) {
	meta := string(a.Metadata)
	if meta == "" || meta == "null" {
		meta = "{}"
	}
	source := a.Source
	if source == "" {
		source = "API"
	}
	cols, vals := t.FK, "?"
	args := []any{entityRow}
	conflict := t.FK
	if a.Kind == store.DocumentAnnotation {
		cols += ", document_position"
		vals += ", ?"
		args = append(args, a.DocumentPosition)
		conflict += ", document_position"
	}
	var userID any
	if a.UserID != 0 {
		userID = a.UserID
	}
	args = append(args, a.Name, a.Label, a.Score, a.Explanation, meta, a.AnnotatorKind, a.Identifier, source, userID,
		a.UserName, a.KeyName, now, now)
	query := fmt.Sprintf(`INSERT INTO %s (%s, name, label, score, explanation, metadata, annotator_kind, identifier, source, user_id,
			user_name, api_key_name, created_at, updated_at)
		VALUES (%s, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), ?, ?)
		ON CONFLICT (name, %s, identifier) DO UPDATE SET label = excluded.label, score = excluded.score,
			explanation = excluded.explanation, metadata = excluded.metadata, annotator_kind = excluded.annotator_kind,
			source = excluded.source, user_id = excluded.user_id, user_name = excluded.user_name,
			api_key_name = excluded.api_key_name, updated_at = excluded.updated_at
		RETURNING id`, t.Table, cols, vals, conflict)
	st, err := prepare(query)
	if err != nil {
		return 0, fmt.Errorf("upsert %s annotation %q: %w", a.Kind, a.Name, err)
	}
	var id int64
	if err := st.QueryRowContext(ctx, args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("upsert %s annotation %q: %w", a.Kind, a.Name, err)
	}
	return id, nil
}

// Annotations lists a project's annotations of one kind, newest first.
func (s *Store) Annotations(ctx context.Context, q store.AnnotationQuery) ([]store.Annotation, error) {
	query, args, err := annotationsQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s annotations: %w", q.Kind, err)
	}
	defer rows.Close()
	var out []store.Annotation
	for rows.Next() {
		a := store.Annotation{Kind: q.Kind}
		var entity, meta string
		var label, expl sql.NullString
		var score sql.NullFloat64
		if err := rows.Scan(&a.RowID, &entity, &a.DocumentPosition, &a.Name, &label, &score, &expl, &meta,
			&a.AnnotatorKind, &a.Identifier, &a.Source, &a.UserID, &a.UserName, &a.KeyName, &a.CreatedAt, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("read annotation: %w", err)
		}
		switch q.Kind {
		case store.TraceAnnotation:
			a.TraceID = entity
		case store.SessionAnnotation:
			a.SessionID = entity
		default:
			a.SpanID = entity
		}
		if label.Valid {
			a.Label = &label.String
		}
		if score.Valid {
			a.Score = &score.Float64
		}
		if expl.Valid {
			a.Explanation = &expl.String
		}
		a.Metadata = json.RawMessage(meta)
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAnnotations deletes a project's annotations matching d.
func (s *Store) DeleteAnnotations(ctx context.Context, d store.AnnotationDelete) (int64, error) {
	t, err := schema.AnnotationTableFor(d.Kind)
	if err != nil {
		return 0, err
	}
	where := []string{fmt.Sprintf("%s IN (SELECT id FROM %s WHERE project_id = ?)", t.FK, t.Entity)}
	args := []any{d.ProjectID}
	where, args = inList(where, args, "name", d.Names)
	where, args = inList(where, args, "identifier", d.Identifiers)
	where, args = inList(where, args, "annotator_kind", d.AnnotatorKinds)
	if d.StartTime != 0 {
		where = append(where, "updated_at >= ?")
		args = append(args, d.StartTime)
	}
	if d.EndTime != 0 {
		where = append(where, "updated_at < ?")
		args = append(args, d.EndTime)
	}
	if len(where) == 1 && !d.All {
		return 0, fmt.Errorf("deleting every %s annotation of a project needs All: %w", d.Kind, store.ErrInvalidArgument)
	}
	unlock, err := s.lockWrite(ctx, checkedWrites)
	if err != nil {
		return 0, err
	}
	defer unlock()
	res, err := s.write.ExecContext(ctx, "DELETE FROM "+t.Table+whereClause(where), args...)
	if err != nil {
		return 0, fmt.Errorf("delete %s annotations: %w", d.Kind, err)
	}
	return res.RowsAffected()
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
	where := []string{"e.project_id = ?"}
	args := []any{q.ProjectID}
	if len(q.EntityIDs) > 0 && (t.Entity == "spans" || t.Entity == "traces") {
		// The entities are found by id (below), and their project tested:
		// "+" keeps SQLite from walking the project's entities instead,
		// which the statistics of a server with many small projects make
		// look cheap (a trace page took 120 ms at 1M spans that way).
		where[0] = "+e.project_id = ?"
	}
	if len(q.EntityIDs) > 0 && len(q.SpanRowIDs) > 0 && t.Entity == "spans" {
		where = append(where, fewRows("e.id", "SELECT ss.id FROM spans ss WHERE ss.id IN ("+rowList(q.SpanRowIDs)+")"))
		// "+" keeps the ids tested on those rows, not looked up in their
		// blocks, which the statistics can make look as cheap.
		where, args = inList(where, args, "+e."+t.EntityKey, q.EntityIDs)
	} else if len(q.EntityIDs) > 0 && len(q.TraceRowIDs) > 0 && (t.Entity == "spans" || t.Entity == "traces") {
		// Through the traces' rows, whose span or trace ids are then
		// tested: looking ids up probes a block of 65,536 rows for each,
		// 113 blocks of spans at 7.4M, 60% of the traces page there.
		list := rowList(q.TraceRowIDs)
		if t.Entity == "spans" {
			where = append(where, fewRows("e.id", "SELECT ts.id FROM spans ts WHERE ts.trace_rowid IN ("+list+")"))
		} else {
			where = append(where, fewRows("e.id", "SELECT tt.id FROM traces tt WHERE tt.id IN ("+list+")"))
		}
		where, args = inList(where, args, "+e."+t.EntityKey, q.EntityIDs)
	} else if t.Entity == "spans" && len(q.EntityIDs) > 0 {
		// spans.span_id has no index of its own (migration 0010): tested
		// on the project's spans, 50 root spans of the traces page took
		// 180 ms at 300,000 spans.
		where = append(where, fewRows("e.id", spanIDLookup("l.id", len(q.EntityIDs))))
		for _, id := range q.EntityIDs {
			args = append(args, id)
		}
	} else if t.Entity == "traces" && len(q.EntityIDs) > 0 {
		// Nor has traces.trace_id (migration 0014): tested on the
		// project's traces, one trace's annotations took 88-100 ms of the
		// trace page at 1M spans (142,858 traces), and walking the
		// annotations newest first looks every annotated trace up.
		where = append(where, fewRows("e.id", traceIDLookup("lt.id", len(q.EntityIDs))))
		for _, id := range q.EntityIDs {
			args = append(args, id)
		}
	} else {
		where, args = inList(where, args, "e."+t.EntityKey, q.EntityIDs)
	}
	where, args = inList(where, args, "a.identifier", q.Identifiers)
	where, args = inList(where, args, "a.name", q.IncludeNames)
	if len(q.ExcludeNames) > 0 {
		where = append(where, "a.name NOT IN ("+placeholders(len(q.ExcludeNames))+")")
		for _, n := range q.ExcludeNames {
			args = append(args, n)
		}
	}
	if q.Cursor > 0 {
		where = append(where, "a.id <= ?")
		args = append(args, q.Cursor)
	}
	query := fmt.Sprintf(`SELECT a.id, e.%s, %s, a.name, a.label, a.score, a.explanation, a.metadata, a.annotator_kind,
			a.identifier, a.source, coalesce(a.user_id, 0), coalesce(a.user_name, ''), coalesce(a.api_key_name, ''),
			a.created_at, a.updated_at
		FROM %s a JOIN %s e ON e.id = a.%s%s ORDER BY a.id DESC`, t.EntityKey, docPos, t.Table, t.Entity, t.FK, whereClause(where))
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return query, args, nil
}
