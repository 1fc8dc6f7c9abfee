-- The tool calls with a model call in them (call_state set: counted, a
-- wrapper, or above a counted call), by project and start time. The
-- project page's "cost by tool" panel shows only tools that called a
-- model; when no tool call in range did, this index answers that at once,
-- where walking the newest 20,000 tool calls and everything below them took
-- 0.5-1.2 s at 1M agent spans. Only those tool calls have entries: agent
-- runs whose tools call no model add none.
CREATE INDEX spans_tool_model_calls ON spans(project_id, start_time)
    WHERE span_kind = 'TOOL' AND call_state IS NOT NULL;
