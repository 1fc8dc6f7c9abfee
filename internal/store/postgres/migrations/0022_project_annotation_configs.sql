-- The annotation configs a project uses, as Phoenix assigns them: its
-- annotation forms offer these. Deleting either side drops the assignment.
CREATE TABLE project_annotation_configs (
    project_id           BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    annotation_config_id BIGINT NOT NULL REFERENCES annotation_configs (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, annotation_config_id)
);
CREATE INDEX project_annotation_configs_config ON project_annotation_configs (annotation_config_id);
