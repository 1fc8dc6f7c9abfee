-- Who made each annotation and note when authentication is on: the user's
-- name as it was then (user_id names the user, who may be gone since),
-- and the API key it came through, if any. NULL when no one logged in.
ALTER TABLE span_annotations ADD COLUMN user_name TEXT;
ALTER TABLE span_annotations ADD COLUMN api_key_name TEXT;
ALTER TABLE trace_annotations ADD COLUMN user_name TEXT;
ALTER TABLE trace_annotations ADD COLUMN api_key_name TEXT;
ALTER TABLE session_annotations ADD COLUMN user_name TEXT;
ALTER TABLE session_annotations ADD COLUMN api_key_name TEXT;
ALTER TABLE document_annotations ADD COLUMN user_name TEXT;
ALTER TABLE document_annotations ADD COLUMN api_key_name TEXT;
