-- An LLM span's prompt template version (llm.prompt_template.version) in a
-- column of its own, and the LLM spans of a project by start time with
-- what the prompt version report reads of them: the report reads the
-- newest 20,000 LLM spans in range, and taking the version out of each
-- one's attributes decompressed them from TOAST, 2 s of the page over 1M
-- agent spans. The writer sets it on LLM spans, to the version when it is
-- a string and to '' when the span names none; NULL, on spans stored
-- before or with a version of another type, is read from the attributes
-- as before. Spans stored before are not rewritten here: that would hold
-- every server's migration for minutes on a large database, and they age
-- out of the report's range.
ALTER TABLE spans ADD COLUMN prompt_version TEXT;

CREATE INDEX spans_project_llm ON spans (project_id, start_time)
    INCLUDE (id, trace_rowid, end_time, status_code, prompt_version) WHERE span_kind = 'LLM';
