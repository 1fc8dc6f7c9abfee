-- A project's sessions in row-id order, as the session lists page them:
-- sessions_project_start holds them by start time, so SQLite read every
-- session of the project and sorted it for each page (a page of the REST
-- session list took 250-280 ms at 1M agent spans, 27,000 sessions). An
-- index on project_id alone holds them by row id within the project.
CREATE INDEX sessions_project ON sessions(project_id);
