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
