-- Issued reports, one per (lender, kind, period, subject): the row is claimed before the report is built (the unique
-- key lets exactly one replica, retry or manual run win), and written once when the report is issued, in the same
-- transaction as its ledger entry. A claim whose builder died is taken over after a lease (claimed_at).
-- Lenders get the time zone their report periods are counted in.

ALTER TABLE lenders ADD reporting_time_zone NVARCHAR(64) NOT NULL CONSTRAINT df_lenders_reporting_time_zone DEFAULT 'UTC';

CREATE TABLE reports (
    lender_id       NVARCHAR(128) NOT NULL,
    report_id       NVARCHAR(128) NOT NULL,
    kind            INT           NOT NULL,
    period_start    BIGINT        NOT NULL,
    period_end      BIGINT        NOT NULL,
    subject         NVARCHAR(128) NOT NULL,
    time_zone       NVARCHAR(64)  NOT NULL,
    claimed_by      NVARCHAR(128) NOT NULL,
    claimed_at      BIGINT        NOT NULL,
    requested_by    NVARCHAR(128) NOT NULL,
    issued_at       BIGINT        NULL,
    ledger_position BIGINT        NULL,
    ledger_entry    BIGINT        NULL,
    content_sha256  NVARCHAR(64)  NULL,
    summary         NVARCHAR(MAX) NULL,
    content         NVARCHAR(MAX) NULL,
    PRIMARY KEY (lender_id, report_id)
);
CREATE UNIQUE INDEX ux_reports_period ON reports (lender_id, kind, period_start, period_end, subject);
CREATE INDEX ix_reports_issued ON reports (lender_id, period_start);
