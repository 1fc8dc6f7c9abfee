-- The prompt versions of error groups, complete: a failed span of any kind
-- keeps its llm.prompt_template.version in prompt_version ('' when it names
-- none; store.PromptVersionColumn), and the index of failed spans holds it,
-- so the error groups page counts every failure's version from the index
-- instead of reading the attributes of the newest 1,000 failures. Failed
-- spans are few, so giving those stored before theirs is quick.
UPDATE spans SET prompt_version = coalesce(attributes ->> 'llm.prompt_template.version', '')
WHERE status_code = 'ERROR' AND prompt_version IS NULL;
DROP INDEX spans_project_error_groups;
CREATE INDEX spans_project_error_groups ON spans (project_id, start_time) INCLUDE (error_group, model_name, prompt_version)
    WHERE status_code = 'ERROR';
