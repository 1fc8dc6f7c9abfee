-- The tool calls with a model call in them (call_state set: counted, a
-- wrapper, or above a counted call), by project and start time. The
-- project page's "cost by tool" panel shows only tools that called a
-- model; when no tool call in range did, this index answers that at once
-- instead of walking the newest 20,000 tool calls and everything below
-- them. Only those tool calls have entries.
CREATE INDEX spans_tool_model_calls ON spans(project_id, start_time)
    WHERE span_kind = 'TOOL' AND call_state IS NOT NULL;
