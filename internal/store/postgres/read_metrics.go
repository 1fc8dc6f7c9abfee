package postgres

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// traceRangeWhere is the range of traces_project_start a series reads.
func traceRangeWhere(projectID, start, end int64) where {
	var w where
	w.add("project_id = " + w.arg(projectID))
	w.add("start_time >= " + w.arg(start))
	if end != 0 {
		w.add("start_time < " + w.arg(end))
	}
	return w
}

// TraceSeries buckets a project's traces by start time: one grouped pass
// over a range of traces_project_start, and the newest latencies.
func (s *Store) TraceSeries(ctx context.Context, projectID, start, end, bucket int64) (store.TraceSeries, error) {
	var series store.TraceSeries
	if err := store.CheckBucket(bucket); err != nil {
		return series, err
	}
	query, args := traceBucketsQuery(projectID, start, end, bucket)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return series, fmt.Errorf("trace series of project %d: %w", projectID, err)
	}
	series.Buckets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TraceBucket, error) {
		var b store.TraceBucket
		err := row.Scan(&b.Start, &b.Traces, &b.Errors, &b.OK, &b.Tokens.Prompt, &b.Tokens.Completion, &b.Tokens.Total,
			&b.Tokens.CacheRead, &b.Tokens.Reasoning, &b.Cost, &b.Unpriced)
		b.Unset = b.Traces - b.Errors - b.OK
		return b, err
	})
	if err != nil {
		return series, fmt.Errorf("trace series of project %d: %w", projectID, err)
	}
	for _, b := range series.Buckets {
		series.Traces += b.Traces
	}
	if series.Traces == 0 {
		return series, nil
	}
	w := traceRangeWhere(projectID, start, end)
	var starts, lats []int64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(start_time), '{}'), coalesce(array_agg(l), '{}') FROM (
			SELECT start_time, end_time - start_time AS l FROM traces`+w.clause()+
		` ORDER BY start_time DESC LIMIT `+strconv.Itoa(store.SeriesLatencySample)+`) s`, w.args...).Scan(&starts, &lats)
	if err != nil {
		return series, fmt.Errorf("trace latencies of project %d: %w", projectID, err)
	}
	sample := make([]store.LatencyAt, len(starts))
	for i := range sample {
		sample[i] = store.LatencyAt{Start: starts[i], Latency: lats[i]}
	}
	store.BucketLatencies(&series, sample, bucket)
	return series, nil
}

// traceBucketsQuery sums the traces of each bucket from their minutes
// (traceSumsSource) when a bucket is a whole number of minutes.
func traceBucketsQuery(projectID, start, end, bucket int64) (string, []any) {
	var w where
	b := w.arg(bucket)
	src := traceSumsSource(&w, projectID, start, end, bucket%minuteNs == 0)
	return `SELECT t - ((t % ` + b + `) + ` + b + `) % ` + b + ` AS b, sum(traces)::bigint, sum(error_traces)::bigint,
			sum(ok_traces)::bigint, sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(total_tokens)::bigint,
			sum(cache_read_tokens)::bigint, sum(reasoning_tokens)::bigint, sum(cost_total), sum(unpriced_spans)::bigint
		FROM ` + src + ` s GROUP BY 1 ORDER BY 1`, w.args
}

// AnnotationScoreSeries averages a project's span annotation scores per
// bucket of span start time, each span's own scores first.
func (s *Store) AnnotationScoreSeries(ctx context.Context, projectID, start, end, bucket int64) ([]store.ScorePoint, error) {
	if err := store.CheckBucket(bucket); err != nil {
		return nil, err
	}
	query, args := scoreSeriesQuery(projectID, start, end, bucket)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("annotation score series of project %d: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ScorePoint, error) {
		var p store.ScorePoint
		err := row.Scan(&p.Start, &p.Name, &p.Mean, &p.Spans)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("annotation score series of project %d: %w", projectID, err)
	}
	return out, nil
}

// scoreSeriesQuery is the SQL of AnnotationScoreSeries.
func scoreSeriesQuery(projectID, start, end, bucket int64) (string, []any) {
	var w where
	b := w.arg(bucket)
	// Annotations carry their span's project and start time (migration
	// 0013): those in range are read on their own index.
	w.add("a.project_id = " + w.arg(projectID))
	w.add("a.entity_start >= " + w.arg(start))
	if end != 0 {
		w.add("a.entity_start < " + w.arg(end))
	}
	w.add("a.score IS NOT NULL")
	// Grouped bucket first: grouped span first, a planner kept from sorting
	// walked every span annotation in span order instead.
	return `SELECT b, name, avg(m), count(*) FROM (
			SELECT a.entity_start / ` + b + ` * ` + b + ` AS b, a.name AS name, avg(a.score) AS m
			FROM span_annotations a` + w.clause() + `
			GROUP BY 1, a.name, a.span_rowid
		) per GROUP BY b, name ORDER BY b, name`, w.args
}

// promptSampleQuery is the SQL of the prompt version report's sample, on
// spans_project_llm.
func promptSampleQuery(projectID, start, end int64, limit int) (string, []any) {
	var w where
	w.add("project_id = " + w.arg(projectID))
	w.add("span_kind = 'LLM'")
	w.add("start_time >= " + w.arg(start))
	if end != 0 {
		w.add("start_time < " + w.arg(end))
	}
	return `SELECT id, trace_rowid, end_time - start_time,
			coalesce(prompt_version, attributes ->> 'llm.prompt_template.version', ''), status_code = 'ERROR'
		FROM spans` + w.clause() + ` ORDER BY start_time DESC` + w.limit(limit), w.args
}

// PromptVersionReport reads the newest LLM spans in range on
// spans_project_llm with their template version (its column, migration
// 0015), the annotations of those spans and of their traces,
// and the exact usage from the roll-ups.
func (s *Store) PromptVersionReport(ctx context.Context, projectID, start, end int64) (store.PromptVersionReport, error) {
	limit := store.PromptVersionSample
	query, args := promptSampleQuery(projectID, start, end, limit)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
	}
	sample, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.VersionedSpan, error) {
		var v store.VersionedSpan
		err := row.Scan(&v.RowID, &v.TraceRowID, &v.Latency, &v.Version, &v.Error)
		return v, err
	})
	if err != nil {
		return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
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
		if anns, err = s.entityAnnotations(ctx, "span_annotations", "span_rowid", false, spanIDs, anns); err != nil {
			return store.PromptVersionReport{}, err
		}
		if anns, err = s.entityAnnotations(ctx, "trace_annotations", "trace_rowid", true, traceIDs, anns); err != nil {
			return store.PromptVersionReport{}, err
		}
	}
	usageEnd := end
	if usageEnd == 0 {
		usageEnd = math.MaxInt64
	}
	usage, err := s.Usage(ctx, projectID, store.ByPromptVersion, start, usageEnd)
	if err != nil {
		return store.PromptVersionReport{}, err
	}
	rep := store.BuildPromptVersionReport(sample, limit, anns, usage)
	newest := store.NewestOfVersions(sample)
	if len(newest) > 0 {
		ids := make([]int64, 0, len(newest))
		for id := range newest {
			ids = append(ids, id)
		}
		rows, err := s.pool.Query(ctx, `SELECT id, coalesce(attributes ->> '`+span.AttrTemplate+`', '') FROM spans WHERE id = ANY($1)`, ids)
		if err != nil {
			return store.PromptVersionReport{}, fmt.Errorf("read prompt templates: %w", err)
		}
		templates := map[int64]string{}
		var id int64
		var text string
		if _, err := pgx.ForEachRow(rows, []any{&id, &text}, func() error { templates[id] = text; return nil }); err != nil {
			return store.PromptVersionReport{}, fmt.Errorf("read prompt templates: %w", err)
		}
		rep.SetTemplates(newest, templates)
	}
	return rep, nil
}

// entityAnnotations reads the annotations with a label or a score of the
// given spans or traces.
func (s *Store) entityAnnotations(ctx context.Context, table, fk string, trace bool, ids []int64, out []store.EntityAnnotation) ([]store.EntityAnnotation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fk+`, name, score, label FROM `+table+`
		WHERE `+fk+` = ANY($1) AND (score IS NOT NULL OR label IS NOT NULL)`, ids)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", table, err)
	}
	read, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.EntityAnnotation, error) {
		a := store.EntityAnnotation{Trace: trace}
		err := row.Scan(&a.RowID, &a.Name, &a.Score, &a.Label)
		return a, err
	})
	if err != nil {
		return out, fmt.Errorf("read %s: %w", table, err)
	}
	return append(out, read...), nil
}

// documentScoresQuery reads a project's LLM document scores in a time
// range, newest first.
func documentScoresQuery(projectID, start, end int64) (string, []any) {
	var w where
	w.add("d.project_id = " + w.arg(projectID))
	w.add("d.entity_start >= " + w.arg(start))
	if end != 0 {
		w.add("d.entity_start < " + w.arg(end))
	}
	w.add("d.score IS NOT NULL")
	w.add("d.annotator_kind = 'LLM'")
	w.add("d.document_position >= 0")
	return `SELECT d.span_rowid, s.span_id, d.entity_start, d.name, d.document_position, d.score
		FROM document_annotations d JOIN spans s ON s.id = d.span_rowid` + w.clause() + `
		ORDER BY d.entity_start DESC, d.span_rowid DESC, d.name DESC, d.document_position DESC` + w.limit(store.DocumentScoreSample), w.args
}

// DocumentScores reads the LLM document evaluations of the project's
// spans in range, newest span first, on the index of the project and start
// time the annotations carry (0019): the read grows with the document
// annotations in range, not with the spans.
func (s *Store) DocumentScores(ctx context.Context, projectID, start, end int64) (store.DocumentScores, error) {
	sql, args := documentScoresQuery(projectID, start, end)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
	}
	read, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.DocumentScore, error) {
		var d store.DocumentScore
		err := row.Scan(&d.SpanRowID, &d.SpanID, &d.Start, &d.Name, &d.Position, &d.Score)
		return d, err
	})
	if err != nil {
		return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, d := range read {
		if !seen[d.SpanRowID] {
			seen[d.SpanRowID] = true
			ids = append(ids, d.SpanRowID)
		}
	}
	docs := make(map[int64]int, len(ids))
	if len(ids) > 0 {
		// One past the highest index of the document list's flattened keys.
		rows, err := s.pool.Query(ctx, `SELECT s.id, coalesce((SELECT max(split_part(substr(k, length(p.prefix) + 1), '.', 1)::int) + 1
				FROM jsonb_object_keys(s.attributes) k
				WHERE starts_with(k, p.prefix) AND substr(k, length(p.prefix) + 1) ~ '^[0-9]+\.'), 0)
			FROM spans s CROSS JOIN LATERAL (SELECT CASE s.span_kind WHEN 'RERANKER' THEN $2 ELSE $3 END AS prefix) p
			WHERE s.id = ANY($1)`, ids, store.DocumentListPrefix("RERANKER"), store.DocumentListPrefix("RETRIEVER"))
		if err != nil {
			return store.DocumentScores{}, fmt.Errorf("count documents: %w", err)
		}
		var id int64
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { docs[id] = n; return nil }); err != nil {
			return store.DocumentScores{}, fmt.Errorf("count documents: %w", err)
		}
	}
	return store.GroupDocumentScores(read, docs, store.DocumentScoreSample), nil
}
