package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/loupe-dev/loupe/internal/store"
)

// calls reads the model calls of project {p:Int64} with their current
// state (counted = 1, as package rollup decides) and the user they count
// under: their own user.id, else their trace's. Usage is summed from them
// at read time, exact however often a span was sent; an hourly roll-up
// (AggregatingMergeTree keyed by project, dimension and hour) is the step
// for projects whose calls no longer fit a scan.
const calls = `(SELECT s.*, ` + stateExpr + ` AS state, coalesce(s.user_id, t.user_id, '') AS call_user
	FROM spans AS s FINAL
	LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states
		WHERE trace_rowid IN (SELECT id FROM traces FINAL WHERE project_id = {p:Int64}) GROUP BY id) AS st ON st.id = s.id
	LEFT JOIN (SELECT id, user_id FROM traces FINAL WHERE project_id = {p:Int64}) AS t ON t.id = s.trace_rowid
	WHERE s.project_id = {p:Int64} AND s.call_state IS NOT NULL)`

// callsOwnUser is calls without the join that finds the user of a call
// without one, for the sums that do not group by user.
const callsOwnUser = `(SELECT s.*, ` + stateExpr + ` AS state
	FROM spans AS s FINAL
	LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states
		WHERE trace_rowid IN (SELECT id FROM traces FINAL WHERE project_id = {p:Int64}) GROUP BY id) AS st ON st.id = s.id
	WHERE s.project_id = {p:Int64} AND s.call_state IS NOT NULL)`

const usageColumns = `toInt64(count()), toInt64(sum(ifNull(prompt_tokens, 0))), toInt64(sum(ifNull(completion_tokens, 0))),
	toInt64(sum(ifNull(total_tokens, 0))), toInt64(sum(ifNull(cache_read_tokens, 0))), toInt64(sum(ifNull(reasoning_tokens, 0))),
	sumIf(ifNull(cost_total, 0), cost_status = 'priced'), toInt64(countIf(cost_status = 'no_price'))`

func usageDest(u *store.Usage) []any {
	return []any{&u.LLMSpans, &u.PromptTokens, &u.CompletionTokens, &u.TotalTokens, &u.CacheReadTokens, &u.ReasoningTokens,
		&u.Cost, &u.Unpriced}
}

func hourFloor(t int64) int64 { return store.Bucket(t, int64(time.Hour)) }

// bounds keeps the calls that started in [hour of start, end), as the other
// backends' hourly roll-ups do; end 0 is open.
func bounds(start, end int64) (string, []any) {
	cond := " AND start_time >= {start:Int64}"
	args := []any{ch.Named("start", hourFloor(start))}
	if end != 0 {
		cond += " AND start_time < {end:Int64}"
		args = append(args, ch.Named("end", end))
	}
	return cond, args
}

// Usage sums a project's counted model calls in [start, end) by dimension,
// most expensive first.
func (s *Store) Usage(ctx context.Context, projectID int64, dim store.UsageDimension, start, end int64) ([]store.Usage, error) {
	key, from := "", callsOwnUser
	switch dim {
	case store.ByModel:
		key = "ifNull(model_name, '')"
	case store.ByUser:
		key, from = "call_user", calls
	case store.ByPromptVersion:
		key = "prompt_version"
	default:
		return nil, fmt.Errorf("%w: usage by %q", store.ErrInvalidArgument, dim)
	}
	cond, args := bounds(start, end)
	rows, err := s.conn.Query(ctx, `SELECT `+key+` AS key, `+usageColumns+` FROM `+from+`
		WHERE state = 1 AND key != ''`+cond+`
		GROUP BY key ORDER BY sumIf(ifNull(cost_total, 0), cost_status = 'priced') DESC, sum(ifNull(total_tokens, 0)) DESC, key`,
		append(args, ch.Named("p", projectID))...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("usage by %s: %w", dim, err))
	}
	return scanUsage(ctx, rows, func(u *store.Usage) []any { return append([]any{&u.Key}, usageDest(u)...) })
}

func scanUsage(ctx context.Context, rows driver.Rows, dest func(*store.Usage) []any) ([]store.Usage, error) {
	defer rows.Close()
	var out []store.Usage
	for rows.Next() {
		var u store.Usage
		if err := rows.Scan(dest(&u)...); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, classify(ctx, rows.Err())
}

// UsageSeries buckets a project's counted model calls that name their
// model, by start time.
func (s *Store) UsageSeries(ctx context.Context, projectID int64, start, end, bucket int64) ([]store.UsagePoint, error) {
	bucket = max(bucket, int64(time.Hour))
	cond, args := bounds(start, end)
	args = append(args, ch.Named("p", projectID), ch.Named("h", hourFloor(start)), ch.Named("b", bucket))
	rows, err := s.conn.Query(ctx, `SELECT intDiv(start_time - {h:Int64}, {b:Int64}) * {b:Int64} + {h:Int64} AS bk, `+usageColumns+`
		FROM `+callsOwnUser+` WHERE state = 1 AND ifNull(model_name, '') != ''`+cond+` GROUP BY bk ORDER BY bk`, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("usage series: %w", err))
	}
	defer rows.Close()
	var out []store.UsagePoint
	for rows.Next() {
		var p store.UsagePoint
		if err := rows.Scan(append([]any{&p.Start}, usageDest(&p.Usage)...)...); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, classify(ctx, rows.Err())
}

// Models lists every model seen on a model call or a wrapper, most recently
// used first, with the sums of the calls counted under it.
func (s *Store) Models(ctx context.Context) ([]store.ModelUsage, error) {
	rows, err := s.conn.Query(ctx, `SELECT model_name, provider, min(start_time), max(start_time),
			toInt64(countIf(state = 1)), toInt64(sumIf(ifNull(total_tokens, 0), state = 1)),
			sumIf(ifNull(cost_total, 0), state = 1 AND cost_status = 'priced'), toInt64(countIf(state = 1 AND cost_status = 'no_price'))
		FROM (SELECT s.*, ifNull(s.model_name, '') AS model_name, ifNull(s.provider, '') AS provider, `+stateExpr+` AS state
			FROM spans AS s FINAL
			LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states GROUP BY id) AS st ON st.id = s.id
			WHERE s.call_state IS NOT NULL AND s.model_name IS NOT NULL)
		GROUP BY model_name, provider ORDER BY max(start_time) DESC, model_name, provider`)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("models: %w", err))
	}
	defer rows.Close()
	var out []store.ModelUsage
	for rows.Next() {
		var m store.ModelUsage
		if err := rows.Scan(&m.ModelName, &m.Provider, &m.FirstSeen, &m.LastSeen, &m.SpanCount, &m.TotalTokens, &m.Cost, &m.Unpriced); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, classify(ctx, rows.Err())
}
