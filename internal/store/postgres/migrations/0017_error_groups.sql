-- Error groups: a failed span's failure (its first exception's type and
-- message, else its status message) with what varies between occurrences
-- taken out, hashed (span.ErrorGroup); NULL unless the span failed. Spans
-- stored before are given theirs when the store opens (errorgroups.go).
-- The error groups page reads the failed spans alone, through this index.
ALTER TABLE spans ADD COLUMN error_group text;
CREATE INDEX spans_project_error_groups ON spans (project_id, start_time) INCLUDE (error_group, model_name)
    WHERE status_code = 'ERROR';
