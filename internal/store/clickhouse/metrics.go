package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// projectTraceRange is a project's traces that started in [start, end)
// (end 0: open), as traceRows reads them.
func projectTraceRange(projectID, start, end int64) (string, []any) {
	sql := "SELECT * FROM (" + traceRows("project_id = {p:Int64}") + ") WHERE start_time >= {start:Int64}"
	args := []any{ch.Named("p", projectID), ch.Named("start", start)}
	if end != 0 {
		sql += " AND start_time < {end:Int64}"
		args = append(args, ch.Named("end", end))
	}
	return sql, args
}

// TraceSeries buckets a project's traces by start time.
func (s *Store) TraceSeries(ctx context.Context, projectID, start, end, bucket int64) (store.TraceSeries, error) {
	var series store.TraceSeries
	if err := store.CheckBucket(bucket); err != nil {
		return series, err
	}
	traces, args := projectTraceRange(projectID, start, end)
	args = append(args, ch.Named("b", bucket))
	rows, err := s.conn.Query(ctx, `SELECT intDiv(start_time, {b:Int64}) * {b:Int64} AS bk, toInt64(count()),
			toInt64(countIf(error_count > 0)), toInt64(countIf(error_count = 0 AND root_status = 'OK')),
			sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
			sum(cost_total), sum(unpriced_spans)
		FROM (`+traces+`) GROUP BY bk ORDER BY bk`, args...)
	if err != nil {
		return series, classify(ctx, fmt.Errorf("trace series of project %d: %w", projectID, err))
	}
	defer rows.Close()
	for rows.Next() {
		var b store.TraceBucket
		if err := rows.Scan(&b.Start, &b.Traces, &b.Errors, &b.OK, &b.Tokens.Prompt, &b.Tokens.Completion, &b.Tokens.Total,
			&b.Tokens.CacheRead, &b.Tokens.Reasoning, &b.Cost, &b.Unpriced); err != nil {
			return series, err
		}
		b.Unset = b.Traces - b.Errors - b.OK
		series.Buckets = append(series.Buckets, b)
		series.Traces += b.Traces
	}
	if err := rows.Err(); err != nil || series.Traces == 0 {
		return series, classify(ctx, err)
	}
	traces, args = projectTraceRange(projectID, start, end)
	lrows, err := s.conn.Query(ctx, "SELECT start_time, end_time - start_time FROM ("+traces+") ORDER BY start_time DESC LIMIT "+
		strconv.Itoa(store.SeriesLatencySample), args...)
	if err != nil {
		return series, classify(ctx, fmt.Errorf("trace latencies of project %d: %w", projectID, err))
	}
	defer lrows.Close()
	var sample []store.LatencyAt
	for lrows.Next() {
		var l store.LatencyAt
		if err := lrows.Scan(&l.Start, &l.Latency); err != nil {
			return series, err
		}
		sample = append(sample, l)
	}
	if err := lrows.Err(); err != nil {
		return series, classify(ctx, err)
	}
	store.BucketLatencies(&series, sample, bucket)
	return series, nil
}

// StorageReport counts each project's traces and spans, the bytes the
// database's active parts take on disk (every node's, on a cluster), and
// spans per day over the q.Days before q.Now by trace start, as the other
// backends count them.
func (s *Store) StorageReport(ctx context.Context, q store.StorageQuery) (store.StorageReport, error) {
	var r store.StorageReport
	parts := "system.parts"
	args := []any{}
	if s.cluster != "" {
		parts = "clusterAllReplicas({c:String}, system.parts)"
		args = append(args, ch.Named("c", s.cluster))
	}
	var bytes uint64
	if err := s.conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM "+parts+" WHERE database = currentDatabase() AND active", args...).
		Scan(&bytes); err != nil {
		return r, classify(ctx, fmt.Errorf("read database size: %w", err))
	}
	r.DatabaseBytes = int64(bytes)
	rows, err := s.conn.Query(ctx, `SELECT p.id, p.name, c.traces, c.spans FROM projects AS p FINAL
		LEFT JOIN (SELECT project_id, toInt64(count()) AS traces, toInt64(sum(span_count)) AS spans
			FROM (`+traceStats("1")+`) GROUP BY project_id) AS c ON c.project_id = p.id ORDER BY p.id`)
	if err != nil {
		return r, classify(ctx, fmt.Errorf("count project data: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var p store.ProjectStorage
		if err := rows.Scan(&p.ProjectID, &p.Name, &p.Traces, &p.Spans); err != nil {
			return r, err
		}
		r.Traces += p.Traces
		r.Spans += p.Spans
		r.Projects = append(r.Projects, p)
	}
	if err := rows.Err(); err != nil {
		return r, classify(ctx, err)
	}
	store.EstimateBytes(&r)
	if q.Days <= 0 {
		return r, nil
	}
	days := store.Days(q.Now, q.Days)
	index := map[int64]int{}
	for i := range r.Projects {
		p := &r.Projects[i]
		index[p.ProjectID] = i
		p.Daily = make([]store.DayCount, len(days))
		for j, d := range days {
			p.Daily[j].Day = d
		}
	}
	drows, err := s.conn.Query(ctx, `SELECT project_id, intDiv(start_time, {d:Int64}) * {d:Int64} AS day, toInt64(sum(span_count))
		FROM (`+traceStats("1")+`) WHERE start_time >= {from:Int64} AND start_time < {to:Int64} GROUP BY project_id, day`,
		ch.Named("d", store.Day), ch.Named("from", days[0]), ch.Named("to", days[len(days)-1]+store.Day))
	if err != nil {
		return r, classify(ctx, fmt.Errorf("count daily spans: %w", err))
	}
	defer drows.Close()
	for drows.Next() {
		var project, day, spans int64
		if err := drows.Scan(&project, &day, &spans); err != nil {
			return r, err
		}
		i, ok := index[project]
		if !ok {
			continue
		}
		if d := (day - days[0]) / store.Day; d >= 0 && int(d) < len(days) {
			r.Projects[i].Daily[d].Spans = spans
		}
	}
	return r, classify(ctx, drows.Err())
}

// AnnotationScoreSeries averages a project's span annotation scores per
// bucket of span start time, each span's own scores first.
func (s *Store) AnnotationScoreSeries(ctx context.Context, projectID, start, end, bucket int64) ([]store.ScorePoint, error) {
	if err := store.CheckBucket(bucket); err != nil {
		return nil, err
	}
	spans := "SELECT id, start_time FROM spans FINAL WHERE project_id = {p:Int64} AND start_time >= {start:Int64}"
	args := []any{ch.Named("p", projectID), ch.Named("start", start), ch.Named("b", bucket)}
	if end != 0 {
		spans += " AND start_time < {end:Int64}"
		args = append(args, ch.Named("end", end))
	}
	rows, err := s.conn.Query(ctx, `SELECT bk, name, avg(span_mean), toInt64(count()) FROM (
			SELECT intDiv(e.start_time, {b:Int64}) * {b:Int64} AS bk, a.name AS name, avg(assumeNotNull(a.score)) AS span_mean
			FROM (SELECT entity_rowid, name, score FROM annotations FINAL
				WHERE kind = 'span' AND project_id = {p:Int64} AND score IS NOT NULL) AS a
			JOIN (`+spans+`) AS e ON e.id = a.entity_rowid
			GROUP BY bk, name, a.entity_rowid)
		GROUP BY bk, name ORDER BY bk, name`, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("score series of project %d: %w", projectID, err))
	}
	defer rows.Close()
	var out []store.ScorePoint
	for rows.Next() {
		var p store.ScorePoint
		if err := rows.Scan(&p.Start, &p.Name, &p.Mean, &p.Spans); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, classify(ctx, rows.Err())
}
