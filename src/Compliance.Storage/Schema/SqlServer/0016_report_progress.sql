-- How far the build of a claimed report has come: events counted of the period's total, written by the builder as it
-- goes, so a person who ran the report (through any replica) can watch it.

ALTER TABLE reports ADD progress_counted BIGINT NOT NULL CONSTRAINT df_reports_progress_counted DEFAULT 0,
    progress_total BIGINT NOT NULL CONSTRAINT df_reports_progress_total DEFAULT 0;
