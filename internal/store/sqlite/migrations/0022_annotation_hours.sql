-- Hourly sums of each project's span and trace annotations, by name (and
-- label), by the hour their span or trace starts in: what the header of
-- every project page summarises over the time range. Reading the
-- annotations in range, even on their own index (0021), grew with them:
-- 6,600 span annotations in a week of 1M agent spans took 90 ms of each
-- project page, mostly SQLite's sorting them by entity; a week is 168 rows
-- a name here.
--
-- The sums are the summaries' own, entity by entity: an entity annotated
-- by several identifiers counts once, with the mean of its scores, and each
-- of its labelled annotations adds 1/(its labelled annotations) to its
-- label's share. Triggers on the annotation tables keep them as any path
-- writes, deletes or moves an annotation (a trace whose start moves, a
-- transfer, a cascade from a deleted span or trace): each takes the
-- annotation's entity out of its hour as it was and counts it again as it
-- is, which reads that entity's few annotations of the name. The entity's
-- annotations are grouped by their project and hour, as they may differ for
-- a moment while a statement moves them one row at a time. Rows that fall
-- to nothing are deleted. Span ingest writes no annotations unless spans
-- carry feedback attributes.
CREATE TABLE annotation_name_hours (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL, -- span or trace
    name        TEXT    NOT NULL,
    hour        INTEGER NOT NULL, -- the entities' start time, floored to the hour (ns)
    annotations INTEGER NOT NULL, -- with a label or a score
    entities    INTEGER NOT NULL,
    scored      INTEGER NOT NULL, -- entities with a score
    score_sum   REAL    NOT NULL, -- of the scored entities' mean scores
    labelled    INTEGER NOT NULL, -- entities with a label
    PRIMARY KEY (project_id, kind, hour, name)
) WITHOUT ROWID;

CREATE TABLE annotation_label_hours (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    hour        INTEGER NOT NULL,
    label       TEXT    NOT NULL,
    annotations INTEGER NOT NULL,
    share       REAL    NOT NULL, -- each entity's annotations with the label over its labelled ones
    PRIMARY KEY (project_id, kind, hour, name, label)
) WITHOUT ROWID;

INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
SELECT project_id, 'span', name, h, sum(n), count(*), sum(sc > 0), sum(coalesce(s, 0)), sum(nl > 0) FROM (
    SELECT project_id, name, (entity_start - ((entity_start % 3600000000000) + 3600000000000) % 3600000000000) AS h, span_rowid, count(*) AS n, count(label) AS nl, count(score) AS sc, avg(score) AS s
    FROM span_annotations WHERE (label IS NOT NULL OR score IS NOT NULL) AND project_id IS NOT NULL AND entity_start IS NOT NULL
    GROUP BY project_id, name, h, span_rowid)
GROUP BY project_id, name, h;
INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
SELECT a.project_id, 'span', a.name, (a.entity_start - ((a.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AS h, a.label, count(*), sum(1.0 / per.nl)
FROM span_annotations a JOIN (SELECT span_rowid, name, count(label) AS nl FROM span_annotations WHERE label IS NOT NULL GROUP BY span_rowid, name) per
    ON per.span_rowid = a.span_rowid AND per.name = a.name
WHERE a.label IS NOT NULL AND a.project_id IS NOT NULL AND a.entity_start IS NOT NULL
GROUP BY a.project_id, a.name, h, a.label;

INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
SELECT project_id, 'trace', name, h, sum(n), count(*), sum(sc > 0), sum(coalesce(s, 0)), sum(nl > 0) FROM (
    SELECT project_id, name, (entity_start - ((entity_start % 3600000000000) + 3600000000000) % 3600000000000) AS h, trace_rowid, count(*) AS n, count(label) AS nl, count(score) AS sc, avg(score) AS s
    FROM trace_annotations WHERE (label IS NOT NULL OR score IS NOT NULL) AND project_id IS NOT NULL AND entity_start IS NOT NULL
    GROUP BY project_id, name, h, trace_rowid)
GROUP BY project_id, name, h;
INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
SELECT a.project_id, 'trace', a.name, (a.entity_start - ((a.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AS h, a.label, count(*), sum(1.0 / per.nl)
FROM trace_annotations a JOIN (SELECT trace_rowid, name, count(label) AS nl FROM trace_annotations WHERE label IS NOT NULL GROUP BY trace_rowid, name) per
    ON per.trace_rowid = a.trace_rowid AND per.name = a.name
WHERE a.label IS NOT NULL AND a.project_id IS NOT NULL AND a.entity_start IS NOT NULL
GROUP BY a.project_id, a.name, h, a.label;

CREATE TRIGGER span_annotations_hours_insert AFTER INSERT ON span_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = new.project_id AND kind = 'span'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = new.project_id AND kind = 'span'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND annotations = 0;
END;

CREATE TRIGGER span_annotations_hours_delete AFTER DELETE ON span_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = old.project_id AND kind = 'span'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = old.project_id AND kind = 'span'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND annotations = 0;
END;

CREATE TRIGGER span_annotations_hours_update AFTER UPDATE OF span_rowid, name, label, score, project_id, entity_start ON span_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'span', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = old.span_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = old.project_id AND kind = 'span'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = old.project_id AND kind = 'span'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND annotations = 0;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'span', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM span_annotations g WHERE g.span_rowid = new.span_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = new.project_id AND kind = 'span'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND entities = 0 AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000));
    DELETE FROM annotation_label_hours WHERE project_id = new.project_id AND kind = 'span'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND annotations = 0 AND NOT (old.span_rowid = new.span_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000));
END;

CREATE TRIGGER trace_annotations_hours_insert AFTER INSERT ON trace_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = new.project_id AND kind = 'trace'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = new.project_id AND kind = 'trace'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND annotations = 0;
END;

CREATE TRIGGER trace_annotations_hours_delete AFTER DELETE ON trace_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = old.project_id AND kind = 'trace'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = old.project_id AND kind = 'trace'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND annotations = 0;
END;

CREATE TRIGGER trace_annotations_hours_update AFTER UPDATE OF trace_rowid, name, label, score, project_id, entity_start ON trace_annotations BEGIN
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id UNION ALL SELECT old.label, old.score WHERE old.label IS NOT NULL OR old.score IS NOT NULL) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE old.project_id IS NOT NULL AND old.entity_start IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT old.project_id, 'trace', old.name, (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = old.trace_rowid AND g.name = old.name AND g.project_id = old.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND old.project_id IS NOT NULL AND old.entity_start IS NOT NULL GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = old.project_id AND kind = 'trace'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND entities = 0;
    DELETE FROM annotation_label_hours WHERE project_id = old.project_id AND kind = 'trace'
        AND hour = (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = old.name AND annotations = 0;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), -1 * count(*), -1, -1 * (count(score) > 0),
        -1 * coalesce(avg(score), 0), -1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, -1 * count(*),
        -1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL) AND g.id != new.id) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    INSERT INTO annotation_name_hours (project_id, kind, name, hour, annotations, entities, scored, score_sum, labelled)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), 1 * count(*), 1, 1 * (count(score) > 0),
        1 * coalesce(avg(score), 0), 1 * (count(label) > 0)
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) WHERE new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) HAVING count(*) > 0
    ON CONFLICT (project_id, kind, hour, name) DO UPDATE SET annotations = annotations + excluded.annotations,
        entities = entities + excluded.entities, scored = scored + excluded.scored,
        score_sum = score_sum + excluded.score_sum, labelled = labelled + excluded.labelled;
    INSERT INTO annotation_label_hours (project_id, kind, name, hour, label, annotations, share)
    SELECT new.project_id, 'trace', new.name, (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000), s.label, 1 * count(*),
        1 * count(*) * 1.0 / (SELECT count(label) FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)))
    FROM (SELECT g.label AS label, g.score AS score FROM trace_annotations g WHERE g.trace_rowid = new.trace_rowid AND g.name = new.name AND g.project_id = new.project_id AND (g.entity_start - ((g.entity_start % 3600000000000) + 3600000000000) % 3600000000000) = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND (g.label IS NOT NULL OR g.score IS NOT NULL)) s WHERE s.label IS NOT NULL AND new.project_id IS NOT NULL AND new.entity_start IS NOT NULL AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000)) GROUP BY s.label
    ON CONFLICT (project_id, kind, hour, name, label) DO UPDATE SET annotations = annotations + excluded.annotations,
        share = share + excluded.share;
    DELETE FROM annotation_name_hours WHERE project_id = new.project_id AND kind = 'trace'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND entities = 0 AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000));
    DELETE FROM annotation_label_hours WHERE project_id = new.project_id AND kind = 'trace'
        AND hour = (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000) AND name = new.name AND annotations = 0 AND NOT (old.trace_rowid = new.trace_rowid AND old.name = new.name AND old.project_id IS new.project_id AND (old.entity_start - ((old.entity_start % 3600000000000) + 3600000000000) % 3600000000000) IS (new.entity_start - ((new.entity_start % 3600000000000) + 3600000000000) % 3600000000000));
END;

