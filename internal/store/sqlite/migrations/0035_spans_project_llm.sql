-- The prompt version report's sample: a project's newest LLM spans in
-- range with what the report needs of each, in an index of the LLM spans
-- alone. Walking the project's start-time index and reading each span's
-- row to test its kind was three quarters of the report (about 250 ms
-- over the 1M-span corpus); a version the column lacks (NULL, spans
-- stored before 0026) is read from the attributes of those spans alone.
CREATE INDEX spans_project_llm ON spans(project_id, start_time, id, trace_rowid, end_time, status_code, prompt_version)
    WHERE span_kind = 'LLM';
