-- Document annotations keep their span's project and start time, as span
-- and trace annotations do (0013), so that a project's retrieval metrics
-- (the metrics page's NDCG, precision and hit rate) read the annotations
-- alone, newest first, on an index. Reached through their spans, they
-- walked every span of the project in range and probed for annotations,
-- a cost growing with the spans rather than with the annotations.
ALTER TABLE document_annotations ADD COLUMN project_id BIGINT, ADD COLUMN entity_start BIGINT;

UPDATE document_annotations a SET project_id = e.project_id, entity_start = e.start_time FROM spans e WHERE e.id = a.span_rowid;

CREATE INDEX document_annotations_project_start ON document_annotations (project_id, entity_start)
    INCLUDE (span_rowid, name, document_position, annotator_kind, score) WHERE score IS NOT NULL;

CREATE FUNCTION document_annotations_entity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT project_id, start_time INTO NEW.project_id, NEW.entity_start FROM spans WHERE id = NEW.span_rowid;
    RETURN NEW;
END $$;
CREATE TRIGGER document_annotations_entity BEFORE INSERT ON document_annotations
    FOR EACH ROW EXECUTE FUNCTION document_annotations_entity();

CREATE FUNCTION document_annotations_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE document_annotations SET project_id = NEW.project_id WHERE span_rowid = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER document_annotations_transfer AFTER UPDATE OF project_id ON spans
    FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id) EXECUTE FUNCTION document_annotations_transfer();
