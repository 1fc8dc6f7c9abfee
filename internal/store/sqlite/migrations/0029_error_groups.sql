-- Error groups: a failed span's failure (its first exception's type and
-- message, else its status message) with what varies between occurrences
-- taken out, hashed (span.ErrorGroup); NULL unless the span failed. Spans
-- stored before are given theirs when the store opens (errorgroups.go).
--
-- The error groups page and the filter error_group == '…' read the failed
-- spans alone, through this index of them: a few entries per hundred spans.
ALTER TABLE spans ADD COLUMN error_group TEXT;
CREATE INDEX spans_project_errors ON spans(project_id, start_time, error_group, model_name) WHERE status_code = 'ERROR';
