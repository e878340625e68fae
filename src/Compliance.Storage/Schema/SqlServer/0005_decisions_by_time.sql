-- Decisions by time, for policy previews and reports.

CREATE INDEX ix_decisions_time ON decisions (lender_id, evaluated_at);
