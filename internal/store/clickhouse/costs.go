package clickhouse

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// recomputeChunk is how many repriced spans one insert writes.
const recomputeChunk = 5000

// RecomputeCosts prices the named models' LLM and embedding spans again.
// ClickHouse has no cheap UPDATE, so a repriced span is written again, whole,
// with its new cost: the spans table is a ReplacingMergeTree, and the row
// inserted last replaces the older one at read time (FINAL) and at merges.
// The new row keeps the span's version, which is its place in the order of
// arrival, so a recompute does not move spans in any list; among rows of
// equal version ReplacingMergeTree keeps the one inserted last. Nothing
// else is written: every token and cost sum (traces, sessions, projects,
// usage by model, user and prompt version) is read from the spans, so it
// follows the new rows as soon as they are acknowledged.
func (s *Store) RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(store.RecomputeResult)) (store.RecomputeResult, error) {
	var res store.RecomputeResult
	if len(models) == 0 {
		return res, nil
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = text(m)
	}
	// The read sees the parts that existed when it began, so the rows
	// written meanwhile are never read again.
	rows, err := s.conn.Query(ctx, `SELECT * FROM spans FINAL
		WHERE span_kind IN ('LLM', 'EMBEDDING') AND model_name IN {models:Array(String)}`, ch.Named("models", names))
	if err != nil {
		return res, classify(ctx, fmt.Errorf("recompute costs: %w", err))
	}
	defer rows.Close()
	cols := rows.Columns()
	types := rows.ColumnTypes()
	at := map[string]int{}
	for i, c := range cols {
		at[c] = i
	}
	for _, c := range []string{"span_kind", "model_name", "provider", "attributes", "prompt_tokens", "completion_tokens",
		"total_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_status", "cost_total",
		"cost_prompt", "cost_completion", "cost_details", "cost_source", "cost_entry"} {
		if _, ok := at[c]; !ok {
			return res, fmt.Errorf("recompute costs: spans has no column %s", c)
		}
	}
	var changed [][]any
	flush := func() error {
		if len(changed) == 0 {
			return nil
		}
		batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO spans")
		if err != nil {
			return fmt.Errorf("write repriced spans: %w", err)
		}
		for _, row := range changed {
			if err := batch.Append(row...); err != nil {
				batch.Abort()
				return fmt.Errorf("write repriced spans: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("write repriced spans: %w", err)
		}
		res.Changed += int64(len(changed))
		changed = changed[:0]
		if progress != nil {
			progress(res)
		}
		return nil
	}
	for rows.Next() {
		ptrs := make([]any, len(cols))
		for i, t := range types {
			ptrs[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return res, fmt.Errorf("recompute costs: %w", err)
		}
		str := func(c string) string {
			switch v := ptrs[at[c]].(type) {
			case *string:
				return *v
			case **string:
				if *v != nil {
					return **v
				}
			}
			return ""
		}
		num := func(c string) int64 {
			if v, ok := ptrs[at[c]].(**int64); ok && *v != nil {
				return **v
			}
			return 0
		}
		flt := func(c string) float64 {
			if v, ok := ptrs[at[c]].(**float64); ok && *v != nil {
				return **v
			}
			return 0
		}
		before := span.Cost{Status: span.CostStatus(str("cost_status")), Total: flt("cost_total"),
			Prompt: flt("cost_prompt"), Completion: flt("cost_completion")}
		sp := span.Span{Attributes: clientCosts(str("attributes")), View: span.View{Kind: span.Kind(str("span_kind")),
			ModelName: str("model_name"), Provider: str("provider"), Tokens: span.TokenCounts{
				Prompt: num("prompt_tokens"), Completion: num("completion_tokens"), Total: num("total_tokens"),
				CacheRead: num("cache_read_tokens"), CacheWrite: num("cache_write_tokens"), Reasoning: num("reasoning_tokens")}}}
		price(&sp)
		res.Scanned++
		after := sp.View.Cost
		if after.Status == before.Status && after.Total == before.Total && after.Prompt == before.Prompt &&
			after.Completion == before.Completion {
			continue
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			row[i] = reflect.ValueOf(p).Elem().Interface()
		}
		set := func(c string, v any) { row[at[c]] = v }
		set("cost_status", nullStr(string(after.Status)))
		if after.Status == span.CostPriced {
			total, prompt, completion := after.Total, after.Prompt, after.Completion
			set("cost_total", &total)
			set("cost_prompt", &prompt)
			set("cost_completion", &completion)
			set("cost_details", nullStr(after.Details))
			set("cost_source", nullStr(after.Source))
			set("cost_entry", nullStr(after.Entry))
		} else {
			for _, c := range []string{"cost_total", "cost_prompt", "cost_completion"} {
				set(c, (*float64)(nil))
			}
			for _, c := range []string{"cost_details", "cost_source", "cost_entry"} {
				set(c, (*string)(nil))
			}
		}
		changed = append(changed, row)
		if len(changed) >= recomputeChunk {
			if err := flush(); err != nil {
				return res, classify(ctx, err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return res, classify(ctx, fmt.Errorf("recompute costs: %w", err))
	}
	if err := flush(); err != nil {
		return res, classify(ctx, err)
	}
	if progress != nil && res.Changed == 0 {
		progress(res)
	}
	return res, nil
}

// clientCosts is the llm.cost.* attributes of a span's stored attribute
// object: the costs a client sent, the only attributes pricing reads.
func clientCosts(attrs string) span.Attributes {
	if !strings.Contains(attrs, `"llm.cost.`) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(attrs), &m) != nil {
		return nil
	}
	var out span.Attributes
	for k, raw := range m {
		var f float64
		if strings.HasPrefix(k, "llm.cost.") && json.Unmarshal(raw, &f) == nil {
			out = append(out, span.Attr{Key: k, Value: span.DoubleValue(f)})
		}
	}
	return out
}

// treeNode is a span of a trace as the walks below tool calls and wrappers
// read it: its place in the tree, its current part in counting model calls
// and its usage.
type treeNode struct {
	trace            int64
	spanID, parentID string
	name, model      string
	start, id        int64
	state            rollup.State
	usage            store.Usage
}

// readTrees reads every span of the traces with these row ids, with its
// current counting state, grouped by trace and parent span id.
func (s *Store) readTrees(ctx context.Context, traceRowIDs []int64) (map[int64]map[string][]*treeNode, map[int64]map[string]*treeNode, error) {
	children := map[int64]map[string][]*treeNode{}
	byID := map[int64]map[string]*treeNode{}
	if len(traceRowIDs) == 0 {
		return children, byID, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT s.trace_rowid, s.span_id, ifNull(s.parent_id, ''), s.name, ifNull(s.model_name, ''),
			s.start_time, s.id, toInt8(`+stateExpr+`),
			ifNull(s.prompt_tokens, 0), ifNull(s.completion_tokens, 0), ifNull(s.total_tokens, 0),
			ifNull(s.cache_read_tokens, 0), ifNull(s.reasoning_tokens, 0), ifNull(s.cost_total, 0), ifNull(s.cost_status, '')
		FROM spans AS s FINAL
		LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states
			WHERE trace_rowid IN {t:Array(Int64)} GROUP BY id) AS st ON st.id = s.id
		WHERE s.trace_rowid IN {t:Array(Int64)}`, ch.Named("t", traceRowIDs))
	if err != nil {
		return nil, nil, classify(ctx, fmt.Errorf("read span trees: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		n := &treeNode{}
		var state int8
		var status string
		u := &n.usage
		if err := rows.Scan(&n.trace, &n.spanID, &n.parentID, &n.name, &n.model, &n.start, &n.id, &state,
			&u.PromptTokens, &u.CompletionTokens, &u.TotalTokens, &u.CacheReadTokens, &u.ReasoningTokens, &u.Cost, &status); err != nil {
			return nil, nil, fmt.Errorf("read span trees: %w", err)
		}
		n.state = rollup.State(state)
		if n.state == rollup.Counted {
			u.LLMSpans = 1
			if span.CostStatus(status) == span.CostNoPrice {
				u.Unpriced = 1
			}
		}
		if children[n.trace] == nil {
			children[n.trace], byID[n.trace] = map[string][]*treeNode{}, map[string]*treeNode{}
		}
		children[n.trace][n.parentID] = append(children[n.trace][n.parentID], n)
		byID[n.trace][n.spanID] = n
	}
	return children, byID, classify(ctx, rows.Err())
}

// addCounted adds the usage of a counted call to u.
func addCounted(u *store.Usage, n *treeNode) {
	if n.state != rollup.Counted {
		return
	}
	v := &n.usage
	u.LLMSpans++
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.TotalTokens += v.TotalTokens
	u.CacheReadTokens += v.CacheReadTokens
	u.ReasoningTokens += v.ReasoningTokens
	u.Cost += v.Cost
	u.Unpriced += v.Unpriced
}

// UsageByTool sums the model calls counted below the newest tool calls of
// a project in range. Calls below a tool can arrive before it and in any
// order, so the sums are walked from the spans of the tools' traces, read
// at once (a trace's spans are one range of the spans table, on its shard).
func (s *Store) UsageByTool(ctx context.Context, projectID int64, start, end int64) ([]store.ToolUsage, bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT trace_rowid, span_id,
			if(JSONExtractString(attributes, 'tool.name') != '', JSONExtractString(attributes, 'tool.name'), name), end_time - start_time
		FROM spans FINAL
		WHERE project_id = {p:Int64} AND span_kind = 'TOOL' AND start_time >= {start:Int64} AND start_time < {end:Int64}
		ORDER BY start_time DESC, version DESC, id DESC LIMIT {n:Int64}`,
		ch.Named("p", projectID), ch.Named("start", start), ch.Named("end", end), ch.Named("n", int64(store.ToolUsageSample+1)))
	if err != nil {
		return nil, false, classify(ctx, fmt.Errorf("usage by tool: %w", err))
	}
	type tool struct {
		trace        int64
		spanID, name string
		dur          int64
	}
	var tools []tool
	seen := map[int64]bool{}
	var traces []int64
	for rows.Next() {
		var t tool
		if err := rows.Scan(&t.trace, &t.spanID, &t.name, &t.dur); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("usage by tool: %w", err)
		}
		tools = append(tools, t)
		if !seen[t.trace] {
			seen[t.trace] = true
			traces = append(traces, t.trace)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, classify(ctx, fmt.Errorf("usage by tool: %w", err))
	}
	sampled := len(tools) > store.ToolUsageSample
	if sampled {
		tools = tools[:store.ToolUsageSample]
	}
	children, byID, err := s.readTrees(ctx, traces)
	if err != nil {
		return nil, false, err
	}
	calls := make([]store.ToolCall, 0, len(tools))
	for _, t := range tools {
		c := store.ToolCall{Name: t.name, Duration: t.dur}
		if self := byID[t.trace][t.spanID]; self != nil {
			// The tool and everything below it, each span once (a client
			// may send a parent cycle).
			visited := map[string]bool{self.spanID: true}
			stack := []*treeNode{self}
			for len(stack) > 0 {
				n := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				addCounted(&c.Usage, n)
				for _, k := range children[t.trace][n.spanID] {
					if !visited[k.spanID] {
						visited[k.spanID] = true
						stack = append(stack, k)
					}
				}
			}
		}
		calls = append(calls, c)
	}
	return store.GroupToolCalls(calls), sampled, nil
}

// ToolCallsWithModels reports whether a tool call of the project in range
// is or holds a counted model call: such a tool call is itself a model call
// or has one below it, so its state is Counted, Wrapper or Above, from its
// insert or recorded later in span_states (a tool stored before its calls).
// span_states shares its shard with the spans, so on a cluster the
// subquery runs on each shard's own rows, as it should.
func (s *Store) ToolCallsWithModels(ctx context.Context, projectID int64, start, end int64) (bool, error) {
	var n uint64
	err := s.conn.QueryRow(ctx, `SELECT count() FROM spans
		WHERE project_id = {p:Int64} AND span_kind = 'TOOL'
			AND (call_state IS NOT NULL OR id IN (SELECT id FROM span_states WHERE call_state != 0))
			AND start_time >= {start:Int64} AND start_time < {end:Int64}`,
		ch.Named("p", projectID), ch.Named("start", start), ch.Named("end", end)).Scan(&n)
	if err != nil {
		return false, classify(ctx, fmt.Errorf("tool calls with model calls: %w", err))
	}
	return n > 0, nil
}

// CountedBelow lists the counted calls below a wrapper span, nearest first,
// walking down through wrappers and spans above calls as the other backends
// do.
func (s *Store) CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]store.CountedCall, error) {
	var trace int64
	var spanID string
	err := s.conn.QueryRow(ctx, `SELECT trace_rowid, span_id FROM spans WHERE id = {id:Int64} LIMIT 1`,
		ch.Named("id", spanRowID)).Scan(&trace, &spanID)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, classify(ctx, fmt.Errorf("calls below span %d: %w", spanRowID, err))
	}
	children, byID, err := s.readTrees(ctx, []int64{trace})
	if err != nil {
		return nil, err
	}
	root := byID[trace][spanID]
	if root == nil {
		return nil, nil
	}
	var out []store.CountedCall
	visited := map[string]bool{root.spanID: true}
	level := []*treeNode{root}
	for depth := 0; len(level) > 0 && depth < store.CountedBelowDepth; depth++ {
		var next []*treeNode
		for _, n := range level {
			if n.state != rollup.Wrapper && n.state != rollup.Above {
				continue
			}
			for _, k := range children[trace][n.spanID] {
				if !visited[k.spanID] {
					visited[k.spanID] = true
					next = append(next, k)
				}
			}
		}
		sortNodes(next)
		for _, k := range next {
			if k.state == rollup.Counted {
				out = append(out, store.CountedCall{SpanID: k.spanID, Name: k.name, ModelName: k.model, Depth: depth + 1})
				if len(out) == limit {
					return out, nil
				}
			}
		}
		level = next
	}
	return out, nil
}

// sortNodes orders spans by start time, then row id.
func sortNodes(ns []*treeNode) {
	slices.SortFunc(ns, func(a, b *treeNode) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.id, b.id)) })
}
