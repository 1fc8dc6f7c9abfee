-- An LLM span's prompt template version (llm.prompt_template.version) in a
-- column of its own: the prompt version report reads the newest 20,000
-- LLM spans in range, and taking the version out of each one's packed
-- attributes was two fifths of its time (over 1M agent spans, 220 ms of
-- 590). The writer sets it on LLM spans, to the version when it is a
-- string and to '' when the span names none; NULL, on spans stored before
-- or with a version of another type, is read from the attributes as
-- before. An empty text takes no more room in a row than NULL.
ALTER TABLE spans ADD COLUMN prompt_version TEXT;
