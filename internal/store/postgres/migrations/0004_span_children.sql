-- A span's children, for usage by tool (UsageByTool), which walks down
-- from tool calls one index lookup per span reached. With spans_trace
-- alone, each lookup reads every span of the trace, or the planner scans
-- all spans at every level of the walk.
CREATE INDEX spans_trace_parent ON spans (trace_rowid, parent_id);
