-- The prompt versions of error groups, complete: a failed span of any kind
-- keeps its llm.prompt_template.version in prompt_version ('' when it names
-- none; store.PromptVersionColumn), and the index of failed spans holds it,
-- so the error groups page counts every failure's version from the index
-- instead of reading the rows of the newest 1,000 failures.
UPDATE spans SET prompt_version = coalesce(CAST(json_extract(loupe_json(attributes), '$."llm.prompt_template.version"') AS TEXT), '')
WHERE id IN (SELECT id FROM spans INDEXED BY spans_project_errors WHERE status_code = 'ERROR' AND prompt_version IS NULL);
DROP INDEX spans_project_errors;
CREATE INDEX spans_project_errors ON spans(project_id, start_time, error_group, model_name, prompt_version) WHERE status_code = 'ERROR';
