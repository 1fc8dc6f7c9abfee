-- Document annotations keep their span's project and start time, as span
-- and trace annotations do (0021), so that a project's retrieval metrics
-- (the metrics page's NDCG, precision and hit rate) read the annotations
-- alone, newest first, on an index. Reached through their spans, they
-- walked every span of the project in range and probed for annotations:
-- 1.1 s of the metrics page over a month of 1M agent spans holding none.
ALTER TABLE document_annotations ADD COLUMN project_id INTEGER;
ALTER TABLE document_annotations ADD COLUMN entity_start INTEGER;

UPDATE document_annotations SET (project_id, entity_start) =
    (SELECT project_id, start_time FROM spans WHERE spans.id = document_annotations.span_rowid);

CREATE INDEX document_annotations_project_start
    ON document_annotations(project_id, entity_start, span_rowid, name, document_position, annotator_kind, score)
    WHERE score IS NOT NULL;

CREATE TRIGGER document_annotations_entity AFTER INSERT ON document_annotations BEGIN
    UPDATE document_annotations SET (project_id, entity_start) =
        (SELECT project_id, start_time FROM spans WHERE spans.id = new.span_rowid)
    WHERE id = new.id;
END;

CREATE TRIGGER document_annotations_transfer AFTER UPDATE OF project_id ON spans
WHEN new.project_id != old.project_id BEGIN
    UPDATE document_annotations SET project_id = new.project_id WHERE span_rowid = new.id;
END;
