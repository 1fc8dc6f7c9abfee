-- Full-text search over the text of spans: inputs, outputs, message and
-- retrieved document contents, as a tsvector written with the span (see
-- search.go), so a span is searchable once stored.
ALTER TABLE spans ADD COLUMN search TSVECTOR;
CREATE INDEX spans_search ON spans USING gin (search);
