-- Span and trace annotations keep their entity's project and start time,
-- so that a project's summaries over a time range (the header of every
-- project page, the metrics page's score series) read the annotations
-- alone, on an index holding what they sum. Looking each annotated span up
-- by row id read a 16 KiB page a span: over a week of 1M agent spans with
-- one root span in 20 annotated, the header's summaries took 150-230 ms of
-- every project page, and they grow with the annotations in range.
--
-- A span keeps its start time; its project changes only by a transfer of
-- its trace, which the triggers below follow. A trace's start time moves
-- when a span that started earlier arrives: the writer sets entity_start of
-- its annotations then (write.go), as does deleting a span (manage.go). An
-- annotation takes both when it is written.
ALTER TABLE span_annotations ADD COLUMN project_id INTEGER;
ALTER TABLE span_annotations ADD COLUMN entity_start INTEGER;
ALTER TABLE trace_annotations ADD COLUMN project_id INTEGER;
ALTER TABLE trace_annotations ADD COLUMN entity_start INTEGER;

UPDATE span_annotations SET (project_id, entity_start) =
    (SELECT project_id, start_time FROM spans WHERE spans.id = span_annotations.span_rowid);
UPDATE trace_annotations SET (project_id, entity_start) =
    (SELECT project_id, start_time FROM traces WHERE traces.id = trace_annotations.trace_rowid);

CREATE INDEX span_annotations_project_start ON span_annotations(project_id, entity_start, name, span_rowid, label, score)
    WHERE label IS NOT NULL OR score IS NOT NULL;
CREATE INDEX trace_annotations_project_start ON trace_annotations(project_id, entity_start, name, trace_rowid, label, score)
    WHERE label IS NOT NULL OR score IS NOT NULL;

CREATE TRIGGER span_annotations_entity AFTER INSERT ON span_annotations BEGIN
    UPDATE span_annotations SET (project_id, entity_start) =
        (SELECT project_id, start_time FROM spans WHERE spans.id = new.span_rowid)
    WHERE id = new.id;
END;
CREATE TRIGGER trace_annotations_entity AFTER INSERT ON trace_annotations BEGIN
    UPDATE trace_annotations SET (project_id, entity_start) =
        (SELECT project_id, start_time FROM traces WHERE traces.id = new.trace_rowid)
    WHERE id = new.id;
END;

CREATE TRIGGER span_annotations_transfer AFTER UPDATE OF project_id ON spans
WHEN new.project_id != old.project_id BEGIN
    UPDATE span_annotations SET project_id = new.project_id WHERE span_rowid = new.id;
END;
CREATE TRIGGER trace_annotations_transfer AFTER UPDATE OF project_id ON traces
WHEN new.project_id != old.project_id BEGIN
    UPDATE trace_annotations SET project_id = new.project_id WHERE trace_rowid = new.id;
END;
