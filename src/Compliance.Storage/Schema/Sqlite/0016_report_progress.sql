-- How far the build of a claimed report has come: events counted of the period's total, written by the builder as it
-- goes, so a person who ran the report (through any replica) can watch it.

ALTER TABLE reports ADD COLUMN progress_counted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN progress_total INTEGER NOT NULL DEFAULT 0;
