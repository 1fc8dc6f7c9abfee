-- A span's children, for usage by tool (UsageByTool), which walks down
-- from tool calls. With spans_trace alone, each step reads every span of
-- the trace: from the newest 20,000 tool calls of a 100k-span trace, the
-- walk took over ten minutes; with this index, half a second
-- (BenchmarkUsageByTool in usage_bench_test.go).
CREATE INDEX spans_trace_parent ON spans(trace_rowid, parent_id);
