-- Issued reports, one per (lender, kind, period, subject): the row is claimed before the report is built (the unique
-- key lets exactly one replica, retry or manual run win), and written once when the report is issued, in the same
-- transaction as its ledger entry. A claim whose builder died is taken over after a lease (claimed_at).
-- Lenders get the time zone their report periods are counted in.

ALTER TABLE lenders ADD COLUMN reporting_time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE reports (
    lender_id       TEXT    NOT NULL,
    report_id       TEXT    NOT NULL,
    kind            INTEGER NOT NULL,
    period_start    INTEGER NOT NULL,
    period_end      INTEGER NOT NULL,
    subject         TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    claimed_by      TEXT    NOT NULL,
    claimed_at      INTEGER NOT NULL,
    requested_by    TEXT    NOT NULL,
    issued_at       INTEGER NULL,
    ledger_position INTEGER NULL,
    ledger_entry    INTEGER NULL,
    content_sha256  TEXT    NULL,
    summary         TEXT    NULL,
    content         TEXT    NULL,
    PRIMARY KEY (lender_id, report_id)
);
CREATE UNIQUE INDEX ux_reports_period ON reports (lender_id, kind, period_start, period_end, subject);
CREATE INDEX ix_reports_issued ON reports (lender_id, period_start);
