-- Full-text search over the text of spans: inputs, outputs, message and
-- retrieved document contents.
--
-- The index is filled after ingest, not during it: a background indexer
-- reads spans in row-id order and adds them in bounded batches, so search
-- trails ingest by seconds while the write path stays as fast as without it.
-- Contentless: the text is in spans already, and the indexer prepares it
-- (scripts without spaces cut per character, see internal/fulltext), so the
-- index holds only its tokens, keyed by the span's row id.
CREATE VIRTUAL TABLE span_search USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Every span with id <= indexed_to is in span_search (or has no text).
CREATE TABLE span_search_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_to INTEGER NOT NULL
);
INSERT INTO span_search_state (id, indexed_to) VALUES (1, 0);

-- A deleted span leaves the index. Deleting the newest spans lets SQLite
-- hand their row ids to new spans, so the indexer's position moves back to
-- the newest span left, or it would skip the newcomers.
CREATE TRIGGER span_search_forget AFTER DELETE ON spans BEGIN
    DELETE FROM span_search
        WHERE rowid = old.id AND old.id <= (SELECT indexed_to FROM span_search_state);
    UPDATE span_search_state SET indexed_to = (SELECT coalesce(max(id), 0) FROM spans)
        WHERE indexed_to > (SELECT coalesce(max(id), 0) FROM spans);
END;

-- A larger in-memory index per transaction (16 MiB, not 1 MiB) writes one
-- segment per indexer batch instead of several, and merging 8 segments at a
-- time instead of 4 rewrites the index less often: together they halve the
-- time to index a span, for a few percent more pages.
INSERT INTO span_search (span_search, rank) VALUES ('hashsize', 16777216);
INSERT INTO span_search (span_search, rank) VALUES ('automerge', 8);
-- Retention deletes spans oldest first. Rewriting a segment once half its
-- documents are deleted (not a tenth, the default) reclaims their space
-- while rewriting each segment about once: deleting an indexed span then
-- costs several times less.
INSERT INTO span_search (span_search, rank) VALUES ('deletemerge', 50);
