-- The accounts of a borrower are read in account order by every first look at a borrower (the gate and the ingest).
-- With the index on (lender_id, borrower_id) alone, SQLite's planner read the lender's accounts in primary-key order to
-- spare the sort, and filtered them: every such read passed over all of the lender's accounts (40 ms at 22,000
-- accounts). With the account id in the index the borrower's rows are found and come in order.
-- Reports read a period's incidents and complaints by time, not every one the lender has; an agency's collectors are
-- listed from an index of their own.

DROP INDEX ix_accounts_borrower;
CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id, account_id);
CREATE INDEX ix_incidents_time ON incidents (lender_id, occurred_at);
CREATE INDEX ix_complaints_received ON complaints (lender_id, received_at);
CREATE INDEX ix_collectors_agency ON collectors (lender_id, agency_id, collector_id);
