-- As on SQLite: a borrower's accounts are found and come in account order from one index, and reports read a
-- period's incidents and complaints by time, and an agency's collectors are listed from an index of their own.

DROP INDEX ix_accounts_borrower ON accounts;
CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id, account_id);
CREATE INDEX ix_incidents_time ON incidents (lender_id, occurred_at);
CREATE INDEX ix_complaints_received ON complaints (lender_id, received_at);
CREATE INDEX ix_collectors_agency ON collectors (lender_id, agency_id, collector_id);
