package clickhouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Annotations are sharded by their own identity, spans by trace: the
// reports below read each table on its own and join in Go, never in a
// subquery, which on a cluster would run on each shard's own rows.

// PromptVersionReport reads the newest LLM spans in range with their
// template version, the annotations of those spans and of their traces,
// and the exact usage by prompt version.
func (s *Store) PromptVersionReport(ctx context.Context, projectID, start, end int64) (store.PromptVersionReport, error) {
	limit := store.PromptVersionSample
	var w where
	w.add("project_id = " + w.arg("Int64", projectID))
	w.add("span_kind = 'LLM'")
	w.add("start_time >= " + w.arg("Int64", start))
	if end != 0 {
		w.add("start_time < " + w.arg("Int64", end))
	}
	rows, err := s.conn.Query(ctx, `SELECT id, trace_rowid, end_time - start_time,
			JSONExtractString(attributes, 'llm.prompt_template.version'), status_code = 'ERROR'
		FROM spans FINAL`+w.clause()+` ORDER BY start_time DESC, version DESC, id DESC LIMIT `+strconv.Itoa(limit), w.args...)
	if err != nil {
		return store.PromptVersionReport{}, classify(ctx, fmt.Errorf("prompt versions of project %d: %w", projectID, err))
	}
	var sample []store.VersionedSpan
	for rows.Next() {
		var v store.VersionedSpan
		if err := rows.Scan(&v.RowID, &v.TraceRowID, &v.Latency, &v.Version, &v.Error); err != nil {
			rows.Close()
			return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
		}
		sample = append(sample, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.PromptVersionReport{}, classify(ctx, fmt.Errorf("prompt versions of project %d: %w", projectID, err))
	}
	var spanIDs, traceIDs []int64
	seenTrace := map[int64]bool{}
	for _, v := range sample {
		if v.Version == "" {
			continue
		}
		spanIDs = append(spanIDs, v.RowID)
		if !seenTrace[v.TraceRowID] {
			seenTrace[v.TraceRowID] = true
			traceIDs = append(traceIDs, v.TraceRowID)
		}
	}
	var anns []store.EntityAnnotation
	if len(spanIDs) > 0 {
		if anns, err = s.entityAnnotations(ctx, store.SpanAnnotation, projectID, spanIDs, anns); err != nil {
			return store.PromptVersionReport{}, err
		}
		if anns, err = s.entityAnnotations(ctx, store.TraceAnnotation, projectID, traceIDs, anns); err != nil {
			return store.PromptVersionReport{}, err
		}
	}
	usage, err := s.Usage(ctx, projectID, store.ByPromptVersion, start, end)
	if err != nil {
		return store.PromptVersionReport{}, err
	}
	rep := store.BuildPromptVersionReport(sample, limit, anns, usage)
	if newest := store.NewestOfVersions(sample); len(newest) > 0 {
		ids := make([]int64, 0, len(newest))
		for id := range newest {
			ids = append(ids, id)
		}
		rows, err := s.conn.Query(ctx, `SELECT id, JSONExtractString(attributes, {k:String}) FROM spans FINAL
			WHERE project_id = {p:Int64} AND id IN {ids:Array(Int64)}`,
			ch.Named("k", span.AttrTemplate), ch.Named("p", projectID), ch.Named("ids", ids))
		if err != nil {
			return store.PromptVersionReport{}, classify(ctx, fmt.Errorf("read prompt templates: %w", err))
		}
		defer rows.Close()
		templates := map[int64]string{}
		for rows.Next() {
			var id int64
			var t string
			if err := rows.Scan(&id, &t); err != nil {
				return store.PromptVersionReport{}, fmt.Errorf("read prompt templates: %w", err)
			}
			templates[id] = t
		}
		if err := rows.Err(); err != nil {
			return store.PromptVersionReport{}, classify(ctx, fmt.Errorf("read prompt templates: %w", err))
		}
		rep.SetTemplates(newest, templates)
	}
	return rep, nil
}

// entityAnnotations reads the annotations with a label or a score of the
// given spans or traces.
func (s *Store) entityAnnotations(ctx context.Context, kind store.AnnotationKind, projectID int64, ids []int64, out []store.EntityAnnotation) ([]store.EntityAnnotation, error) {
	rows, err := s.conn.Query(ctx, `SELECT entity_rowid, name, score, label FROM annotations FINAL
		WHERE kind = {k:String} AND project_id = {p:Int64} AND entity_rowid IN {ids:Array(Int64)}
			AND (score IS NOT NULL OR label IS NOT NULL)`,
		ch.Named("k", string(kind)), ch.Named("p", projectID), ch.Named("ids", ids))
	if err != nil {
		return out, classify(ctx, fmt.Errorf("read %s annotations: %w", kind, err))
	}
	defer rows.Close()
	for rows.Next() {
		a := store.EntityAnnotation{Trace: kind == store.TraceAnnotation}
		if err := rows.Scan(&a.RowID, &a.Name, &a.Score, &a.Label); err != nil {
			return out, fmt.Errorf("read %s annotations: %w", kind, err)
		}
		out = append(out, a)
	}
	return out, classify(ctx, rows.Err())
}

// DocumentScores reads the LLM document evaluations of the project's spans
// in range, newest span first: the scored document annotations of the
// project, then their spans (start, kind and the keys of their document
// lists), then the newest DocumentScoreSample of them.
func (s *Store) DocumentScores(ctx context.Context, projectID, start, end int64) (store.DocumentScores, error) {
	rows, err := s.conn.Query(ctx, `SELECT entity_rowid, name, document_position, score FROM annotations FINAL
		WHERE kind = {k:String} AND project_id = {p:Int64} AND score IS NOT NULL AND annotator_kind = 'LLM'
			AND document_position >= 0`,
		ch.Named("k", string(store.DocumentAnnotation)), ch.Named("p", projectID))
	if err != nil {
		return store.DocumentScores{}, classify(ctx, fmt.Errorf("document scores of project %d: %w", projectID, err))
	}
	var read []store.DocumentScore
	var ids []int64
	seen := map[int64]bool{}
	for rows.Next() {
		var d store.DocumentScore
		var pos int32
		var score *float64
		if err := rows.Scan(&d.SpanRowID, &d.Name, &pos, &score); err != nil {
			rows.Close()
			return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
		}
		d.Position, d.Score = int(pos), *score
		read = append(read, d)
		if !seen[d.SpanRowID] {
			seen[d.SpanRowID] = true
			ids = append(ids, d.SpanRowID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.DocumentScores{}, classify(ctx, fmt.Errorf("document scores of project %d: %w", projectID, err))
	}
	if len(read) == 0 {
		return store.GroupDocumentScores(nil, nil, store.DocumentScoreSample), nil
	}
	type spanInfo struct {
		spanID        string
		start, ver    int64
		documents     int
		inRange, seen bool
	}
	spans := map[int64]*spanInfo{}
	var w where
	w.add("project_id = " + w.arg("Int64", projectID))
	w.add("id IN " + w.arg("Array(Int64)", ids))
	w.add("start_time >= " + w.arg("Int64", start))
	if end != 0 {
		w.add("start_time < " + w.arg("Int64", end))
	}
	rows, err = s.conn.Query(ctx, `SELECT id, span_id, start_time, version, span_kind, JSONExtractKeys(attributes) FROM spans FINAL`+
		w.clause(), w.args...)
	if err != nil {
		return store.DocumentScores{}, classify(ctx, fmt.Errorf("count documents: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind string
		var keys []string
		sp := &spanInfo{}
		if err := rows.Scan(&id, &sp.spanID, &sp.start, &sp.ver, &kind, &keys); err != nil {
			return store.DocumentScores{}, fmt.Errorf("count documents: %w", err)
		}
		sp.documents = documentCount(keys, store.DocumentListPrefix(kind))
		spans[id] = sp
	}
	if err := rows.Err(); err != nil {
		return store.DocumentScores{}, classify(ctx, fmt.Errorf("count documents: %w", err))
	}
	kept := read[:0]
	for _, d := range read {
		if sp := spans[d.SpanRowID]; sp != nil {
			d.SpanID, d.Start = sp.spanID, sp.start
			kept = append(kept, d)
		}
	}
	slices.SortFunc(kept, func(a, b store.DocumentScore) int {
		sa, sb := spans[a.SpanRowID], spans[b.SpanRowID]
		return cmp.Or(cmp.Compare(sb.start, sa.start), cmp.Compare(sb.ver, sa.ver), cmp.Compare(b.SpanRowID, a.SpanRowID),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Position, b.Position))
	})
	kept = kept[:min(len(kept), store.DocumentScoreSample)]
	docs := make(map[int64]int, len(spans))
	for id, sp := range spans {
		docs[id] = sp.documents
	}
	return store.GroupDocumentScores(kept, docs, store.DocumentScoreSample), nil
}

// documentCount is one past the highest index of a document list's
// flattened keys (prefix + "N." + field).
func documentCount(keys []string, prefix string) int {
	n := 0
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, _, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		if idx == "" || strings.Trim(idx, "0123456789") != "" {
			continue
		}
		if i, err := strconv.Atoi(idx); err == nil {
			n = max(n, i+1)
		}
	}
	return n
}
