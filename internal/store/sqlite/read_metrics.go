package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// TraceSeries buckets a project's traces by start time: one grouped pass
// over the range of traces_project_start for the counts and sums, and the
// newest latencies, read from the traces_project_stats index alone.
func (s *Store) TraceSeries(ctx context.Context, projectID, start, end, bucket int64) (store.TraceSeries, error) {
	var series store.TraceSeries
	if err := store.CheckBucket(bucket); err != nil {
		return series, err
	}
	var err error
	if series.Buckets, err = s.traceBuckets(ctx, projectID, start, end, bucket); err != nil {
		return series, fmt.Errorf("trace series of project %d: %w", projectID, err)
	}
	for _, b := range series.Buckets {
		series.Traces += b.Traces
	}
	if series.Traces == 0 {
		return series, nil
	}
	sample, err := s.latencySample(ctx, projectID, start, end)
	if err != nil {
		return series, fmt.Errorf("trace latencies of project %d: %w", projectID, err)
	}
	store.BucketLatencies(&series, sample, bucket)
	return series, nil
}

// traceBuckets sums the traces of each bucket, from their minutes
// (traceSumsSource) when a bucket is a whole number of minutes.
func (s *Store) traceBuckets(ctx context.Context, projectID, start, end, bucket int64) ([]store.TraceBucket, error) {
	query, args := traceBucketsQuery(projectID, start, end, bucket)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TraceBucket
	for rows.Next() {
		var b store.TraceBucket
		if err := rows.Scan(&b.Start, &b.Traces, &b.Errors, &b.OK, &b.Tokens.Prompt, &b.Tokens.Completion, &b.Tokens.Total,
			&b.Tokens.CacheRead, &b.Tokens.Reasoning, &b.Cost, &b.Unpriced); err != nil {
			return nil, err
		}
		b.Unset = b.Traces - b.Errors - b.OK
		out = append(out, b)
	}
	return out, rows.Err()
}

func traceBucketsQuery(projectID, start, end, bucket int64) (string, []any) {
	src, args := traceSumsSource(projectID, start, end, bucket%minuteNs == 0)
	// store.Bucket in SQL: t floored to a multiple of the bucket.
	return `SELECT t - ((t % ?1) + ?1) % ?1 AS b, sum(traces), sum(error_traces), sum(ok_traces),
			sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
			sum(cost_total), sum(unpriced_spans)
		FROM ` + src + ` GROUP BY b ORDER BY b`, append([]any{bucket}, args...)
}

// latencySample reads the newest traces' start times and latencies, each
// pair as one value of an integer list (int64List): stepping the driver
// through the 50,000 rows took 60 ms of the metrics page at 1M spans.
func (s *Store) latencySample(ctx context.Context, projectID, start, end int64) ([]store.LatencyAt, error) {
	q, args := newestTracesQuery("start_time || ',' || (end_time - start_time)", projectID, start, end, store.SeriesLatencySample)
	list, err := s.int64List(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]store.LatencyAt, len(list)/2)
	for i := range out {
		out[i] = store.LatencyAt{Start: list[2*i], Latency: list[2*i+1]}
	}
	return out, nil
}

// AnnotationScoreSeries averages a project's span annotation scores per
// bucket of span start time, each span's own scores first. As for the
// header's summaries, the annotations keep their span's project and start
// time (migration 0021), so those in range are read on their own index.
func (s *Store) AnnotationScoreSeries(ctx context.Context, projectID, start, end, bucket int64) ([]store.ScorePoint, error) {
	if err := store.CheckBucket(bucket); err != nil {
		return nil, err
	}
	query, args := scoreSeriesQuery(projectID, start, end, bucket)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("annotation score series of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []store.ScorePoint
	for rows.Next() {
		var p store.ScorePoint
		if err := rows.Scan(&p.Start, &p.Name, &p.Mean, &p.Spans); err != nil {
			return nil, fmt.Errorf("annotation score series of project %d: %w", projectID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func scoreSeriesQuery(projectID, start, end, bucket int64) (string, []any) {
	// Each span's mean score in [from, to), to 0 for open.
	spans := func(from, to int64) (string, []any) {
		args := []any{bucket, bucket, projectID, from}
		inRange := "entity_start >= ?"
		if to != 0 {
			inRange += " AND entity_start < ?"
			args = append(args, to)
		}
		return `SELECT entity_start / ? * ? AS b, name, avg(score) AS score_sum, 1 AS scored
			FROM span_annotations
			WHERE project_id = ? AND ` + inRange + ` AND score IS NOT NULL AND (label IS NOT NULL OR score IS NOT NULL)
			GROUP BY span_rowid, name`, args
	}
	// Buckets of whole hours sum the range's whole hours from the hourly
	// sums (migration 0022), which hold each span's mean score as the
	// series does, and read the parts of an hour at either end from the
	// annotations: a month of a busy project is 720 rows a name, where its
	// annotations grew with it (300 ms of the metrics page at 10M spans).
	first, last, whole, ends := hourSplit(start, end)
	if bucket%hourNs != 0 {
		whole, ends = false, [][2]int64{{start, end}}
	}
	var parts []string
	var args []any
	add := func(q string, a []any) { parts, args = append(parts, q), append(args, a...) }
	for _, e := range ends {
		add(spans(e[0], e[1]))
	}
	if whole {
		hours := `SELECT hour / ? * ? AS b, name, score_sum, scored FROM annotation_name_hours
			WHERE project_id = ? AND kind = 'span' AND hour >= ? AND scored > 0`
		hourArgs := []any{bucket, bucket, projectID, first}
		if last != 0 {
			hours += " AND hour < ?"
			hourArgs = append(hourArgs, last)
		}
		add(hours, hourArgs)
	}
	return `SELECT b, name, sum(score_sum) / sum(scored), sum(scored) FROM (` + strings.Join(parts, `
		UNION ALL `) + `) GROUP BY b, name ORDER BY b, name`, args
}

// PromptVersionReport reads the newest LLM spans in range on the
// spans_project_start_bucket index with their template version (from the
// attributes, hence the sample), then the annotations of those spans and
// of their traces by row id, and the exact usage from the roll-ups.
func (s *Store) PromptVersionReport(ctx context.Context, projectID, start, end int64) (store.PromptVersionReport, error) {
	query, args := promptVersionSampleQuery(projectID, start, end)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var sample []store.VersionedSpan
	var starts []int64
	var unknown []int64 // spans whose version is not in the column
	for rows.Next() {
		var v store.VersionedSpan
		var version sql.NullString
		var start int64
		if err := rows.Scan(&v.RowID, &v.TraceRowID, &v.Latency, &version, &v.Error, &start); err != nil {
			return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
		}
		v.Version = version.String
		if !version.Valid {
			unknown = append(unknown, v.RowID)
		}
		sample = append(sample, v)
		starts = append(starts, start)
	}
	if err := rows.Err(); err != nil {
		return store.PromptVersionReport{}, fmt.Errorf("prompt versions of project %d: %w", projectID, err)
	}
	rows.Close()
	if len(unknown) > 0 {
		versions, err := s.spanAttribute(ctx, unknown, span.AttrTemplateVersion)
		if err != nil {
			return store.PromptVersionReport{}, err
		}
		for i := range sample {
			if v, ok := versions[sample[i].RowID]; ok {
				sample[i].Version = v
			}
		}
	}
	var spanIDs, traceIDs []int64
	seenTrace := map[int64]bool{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64) // of the versioned spans' starts
	for i, v := range sample {
		if v.Version == "" {
			continue
		}
		first, last = min(first, starts[i]), max(last, starts[i])
		spanIDs = append(spanIDs, v.RowID)
		if !seenTrace[v.TraceRowID] {
			seenTrace[v.TraceRowID] = true
			traceIDs = append(traceIDs, v.TraceRowID)
		}
	}
	var anns []store.EntityAnnotation
	if len(spanIDs) > 0 {
		if anns, err = s.spanAnnotationsBetween(ctx, projectID, first, last, spanIDs, anns); err != nil {
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
	rep := store.BuildPromptVersionReport(sample, store.PromptVersionSample, anns, usage)
	newest := store.NewestOfVersions(sample)
	templates, err := s.spanTemplates(ctx, newest)
	if err != nil {
		return store.PromptVersionReport{}, err
	}
	rep.SetTemplates(newest, templates)
	return rep, nil
}

// spanTemplates reads the template text of a few spans (one per version)
// by row id.
func (s *Store) spanTemplates(ctx context.Context, rows map[int64]string) (map[int64]string, error) {
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	return s.spanAttribute(ctx, ids, span.AttrTemplate)
}

// spanAttribute reads one attribute of the given spans as text, empty where
// a span has none.
func (s *Store) spanAttribute(ctx context.Context, ids []int64, key string) (map[int64]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	res, err := s.read.QueryContext(ctx, `SELECT id, coalesce(CAST(json_extract(loupe_json(attributes), ?) AS TEXT), '')
		FROM spans WHERE id IN (SELECT value FROM json_each(?))`, `$."`+key+`"`, string(list))
	if err != nil {
		return nil, fmt.Errorf("read %s of spans: %w", key, err)
	}
	defer res.Close()
	out := make(map[int64]string, len(ids))
	for res.Next() {
		var id int64
		var v string
		if err := res.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("read %s of spans: %w", key, err)
		}
		out[id] = v
	}
	return out, res.Err()
}

// promptVersionSampleQuery reads the newest LLM spans in range, at most
// store.PromptVersionSample of them, from spans_project_llm alone
// (migration 0035): the version is NULL where the column does not hold it
// (spans stored before 0026), to be read from the attributes.
func promptVersionSampleQuery(projectID, start, end int64) (string, []any) {
	where := []string{"s.project_id = ?", "s.span_kind = 'LLM'", "s.start_time >= ?"}
	args := []any{projectID, start}
	if end != 0 {
		where = append(where, "s.start_time < ?")
		args = append(args, end)
	}
	return `SELECT s.id, s.trace_rowid, s.end_time - s.start_time, s.prompt_version, s.status_code = 'ERROR', s.start_time
		FROM spans s INDEXED BY spans_project_llm` + whereClause(where) + ` ORDER BY s.start_time DESC, s.id DESC LIMIT ?`,
		append(args, store.PromptVersionSample)
}

// spanAnnotationsBetween reads the annotations with a label or a score of
// the given spans, which started in [first, last]: those of the project's
// spans in that time, on the index of the annotations by their span's
// start (migration 0021), kept when their span is one of spanIDs, in the
// order of entityAnnotations (by span, then annotation). Probing the
// annotations of each of the 20,000 spans of a report took 70 ms at 1M
// agent spans, most of whose spans no one annotated.
func (s *Store) spanAnnotationsBetween(ctx context.Context, projectID, first, last int64, spanIDs []int64, out []store.EntityAnnotation) ([]store.EntityAnnotation, error) {
	wanted := make(map[int64]bool, len(spanIDs))
	for _, id := range spanIDs {
		wanted[id] = true
	}
	rows, err := s.read.QueryContext(ctx, spanAnnotationsBetweenQuery, projectID, first, last)
	if err != nil {
		return out, fmt.Errorf("read span_annotations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a store.EntityAnnotation
		var score sql.NullFloat64
		var label sql.NullString
		if err := rows.Scan(&a.RowID, &a.Name, &score, &label); err != nil {
			return out, fmt.Errorf("read span_annotations: %w", err)
		}
		if !wanted[a.RowID] {
			continue
		}
		if score.Valid {
			a.Score = &score.Float64
		}
		if label.Valid {
			a.Label = &label.String
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const spanAnnotationsBetweenQuery = `SELECT span_rowid, name, score, label FROM span_annotations
	WHERE project_id = ? AND entity_start >= ? AND entity_start <= ? AND (label IS NOT NULL OR score IS NOT NULL)
	ORDER BY span_rowid, id`

// entityAnnotations reads the annotations with a label or a score of the
// given spans or traces. The ids travel as one JSON array, however many.
func (s *Store) entityAnnotations(ctx context.Context, table, fk string, trace bool, ids []int64, out []store.EntityAnnotation) ([]store.EntityAnnotation, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return out, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+fk+`, name, score, label FROM `+table+`
		WHERE `+fk+` IN (SELECT value FROM json_each(?)) AND (score IS NOT NULL OR label IS NOT NULL)`, string(list))
	if err != nil {
		return out, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		a := store.EntityAnnotation{Trace: trace}
		var score sql.NullFloat64
		var label sql.NullString
		if err := rows.Scan(&a.RowID, &a.Name, &score, &label); err != nil {
			return out, fmt.Errorf("read %s: %w", table, err)
		}
		if score.Valid {
			a.Score = &score.Float64
		}
		if label.Valid {
			a.Label = &label.String
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// documentScoresQuery reads a project's LLM document scores in a time range,
// newest first. CROSS JOIN keeps the annotations outer: the spans' indexes
// would have the planner walk every span in range when the annotations
// are too few to have statistics.
const documentScoresQuery = `SELECT d.span_rowid, s.span_id, d.entity_start, d.name, d.document_position, d.score
	FROM document_annotations d CROSS JOIN spans s ON s.id = d.span_rowid
	WHERE d.project_id = ? AND d.entity_start >= ? AND d.entity_start < ?
		AND d.score IS NOT NULL AND d.annotator_kind = 'LLM' AND d.document_position >= 0
	ORDER BY d.entity_start DESC, d.span_rowid DESC, d.name DESC, d.document_position DESC LIMIT ?`

// DocumentScores reads the LLM document evaluations of the project's
// spans in range, newest span first, on the index of the project and start
// time the annotations carry (0031): the read grows with the document
// annotations in range, not with the spans.
func (s *Store) DocumentScores(ctx context.Context, projectID, start, end int64) (store.DocumentScores, error) {
	if end == 0 {
		end = math.MaxInt64
	}
	rows, err := s.read.QueryContext(ctx, documentScoresQuery, projectID, start, end, store.DocumentScoreSample)
	if err != nil {
		return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var read []store.DocumentScore
	var ids []int64
	seen := map[int64]bool{}
	for rows.Next() {
		var d store.DocumentScore
		if err := rows.Scan(&d.SpanRowID, &d.SpanID, &d.Start, &d.Name, &d.Position, &d.Score); err != nil {
			return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
		}
		read = append(read, d)
		if !seen[d.SpanRowID] {
			seen[d.SpanRowID] = true
			ids = append(ids, d.SpanRowID)
		}
	}
	if err := rows.Err(); err != nil {
		return store.DocumentScores{}, fmt.Errorf("document scores of project %d: %w", projectID, err)
	}
	docs, err := s.documentCounts(ctx, ids)
	if err != nil {
		return store.DocumentScores{}, err
	}
	return store.GroupDocumentScores(read, docs, store.DocumentScoreSample), nil
}

// documentCounts reads how many documents each span returned: one past
// the highest index of its document list's flattened keys.
func (s *Store) documentCounts(ctx context.Context, ids []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, coalesce((SELECT max(CAST(substr(j.key, length(p.prefix) + 1) AS INTEGER)) + 1
			FROM json_each(loupe_json(s.attributes)) j
			WHERE substr(j.key, 1, length(p.prefix)) = p.prefix AND substr(j.key, length(p.prefix) + 1, 1) BETWEEN '0' AND '9'), 0)
		FROM spans s CROSS JOIN (SELECT CASE s2.span_kind WHEN 'RERANKER' THEN ? ELSE ? END AS prefix, s2.id AS pid FROM spans s2
			WHERE s2.id IN (SELECT value FROM json_each(?))) p ON p.pid = s.id`,
		store.DocumentListPrefix("RERANKER"), store.DocumentListPrefix("RETRIEVER"), string(list))
	if err != nil {
		return nil, fmt.Errorf("count documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count documents: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
