-- Annotation configs: optional definitions of annotation names (the labels
-- a categorical one allows, the bounds of a score), as Phoenix keeps them.
-- The definition is JSON, read and checked by package store.
CREATE TABLE annotation_configs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    config     JSONB  NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
