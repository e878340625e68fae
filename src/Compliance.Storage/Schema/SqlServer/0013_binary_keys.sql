-- Ids and hashes compare byte for byte, as they do in SQLite: under SQL Server's default collation (case- and often
-- accent-insensitive) the ids "E-1" and "e-1" were one key, so a second lender's or caller's id could meet, or be refused
-- as a duplicate of, another. Every id and hash column takes the binary collation Latin1_General_100_BIN2 (ordinal
-- order, as the service sorts keys); other text keeps the database's collation.
--
-- SQL Server changes a column's collation only while no key, index, foreign key, default or statistics depends on it:
-- those are dropped first (the ones made without a name are found in the catalog), the columns changed, and every key,
-- index, foreign key and default made again as it was (the keys now with names). The migration runs in one transaction.

-- Indexes first: dropping a clustered key later then rebuilds no index.
DROP INDEX ix_api_keys_lender ON api_keys;
DROP INDEX ix_accounts_borrower ON accounts;
DROP INDEX ix_contact_index_hash ON contact_index;
DROP INDEX ix_flags_account ON flags;
DROP INDEX ix_decisions_account ON decisions;
DROP INDEX ix_decisions_time ON decisions;
DROP INDEX ix_attempts_borrower ON attempts;
DROP INDEX ix_attempts_call ON attempts;
DROP INDEX ix_incidents_created ON incidents;
DROP INDEX ix_incidents_account ON incidents;
DROP INDEX ix_ledger_account ON ledger;
DROP INDEX ix_ledger_time ON ledger;
DROP INDEX ix_complaints_account ON complaints;
DROP INDEX ix_event_log_time ON event_log;
DROP INDEX ix_event_batches_entry ON event_batches;
ALTER TABLE attempts DROP CONSTRAINT df_attempts_call_id;

DECLARE @sql NVARCHAR(MAX);

SELECT @sql = STRING_AGG(CAST(N'ALTER TABLE ' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)) + N' DROP CONSTRAINT ' + QUOTENAME(fk.name) AS NVARCHAR(MAX)), N'; ')
FROM sys.foreign_keys fk
WHERE OBJECT_NAME(fk.parent_object_id) IN (N'lenders', N'api_keys', N'agencies', N'collectors', N'accounts', N'contact_index', N'flags', N'policies', N'decisions', N'attempts', N'incidents', N'ledger', N'ledger_heads', N'checkpoints', N'complaints', N'event_log', N'event_keys', N'borrower_events', N'event_batches');
IF @sql IS NOT NULL EXEC sp_executesql @sql;

SELECT @sql = STRING_AGG(CAST(N'ALTER TABLE ' + QUOTENAME(OBJECT_NAME(k.parent_object_id)) + N' DROP CONSTRAINT ' + QUOTENAME(k.name) AS NVARCHAR(MAX)), N'; ')
FROM sys.key_constraints k
WHERE k.type = 'PK' AND OBJECT_NAME(k.parent_object_id) IN (N'lenders', N'api_keys', N'agencies', N'collectors', N'accounts', N'contact_index', N'flags', N'policies', N'decisions', N'attempts', N'incidents', N'ledger', N'ledger_heads', N'checkpoints', N'complaints', N'event_keys', N'borrower_events', N'event_batches');
IF @sql IS NOT NULL EXEC sp_executesql @sql;

SELECT @sql = STRING_AGG(CAST(N'DROP STATISTICS ' + QUOTENAME(OBJECT_NAME(s.object_id)) + N'.' + QUOTENAME(s.name) AS NVARCHAR(MAX)), N'; ')
FROM sys.stats s
WHERE (s.auto_created = 1 OR s.user_created = 1) AND OBJECT_NAME(s.object_id) IN (N'lenders', N'api_keys', N'agencies', N'collectors', N'accounts', N'contact_index', N'flags', N'policies', N'decisions', N'attempts', N'incidents', N'ledger', N'ledger_heads', N'checkpoints', N'complaints', N'event_log', N'event_keys', N'borrower_events', N'event_batches');
IF @sql IS NOT NULL EXEC sp_executesql @sql;
GO

ALTER TABLE lenders ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE api_keys ALTER COLUMN key_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE api_keys ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE api_keys ALTER COLUMN secret_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE agencies ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE agencies ALTER COLUMN agency_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE collectors ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE collectors ALTER COLUMN collector_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE collectors ALTER COLUMN agency_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE accounts ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE accounts ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE accounts ALTER COLUMN borrower_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE contact_index ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE contact_index ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE contact_index ALTER COLUMN contact_point_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE contact_index ALTER COLUMN party_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE contact_index ALTER COLUMN value_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE flags ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE flags ALTER COLUMN flag_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE flags ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE flags ALTER COLUMN party_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE flags ALTER COLUMN contact_point_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE policies ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN decision_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN collector_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN destination_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE decisions ALTER COLUMN key_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN attempt_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN borrower_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN collector_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN destination_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN party_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE attempts ALTER COLUMN call_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE incidents ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE incidents ALTER COLUMN incident_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE incidents ALTER COLUMN rule_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE incidents ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE incidents ALTER COLUMN collector_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger ALTER COLUMN ref_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger ALTER COLUMN prev_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger ALTER COLUMN hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger_heads ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE ledger_heads ALTER COLUMN hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE checkpoints ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE checkpoints ALTER COLUMN hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE complaints ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE complaints ALTER COLUMN complaint_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE complaints ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN event_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN account_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN borrower_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN collector_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN decision_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN call_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN destination_hash NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_log ALTER COLUMN party_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_keys ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_keys ALTER COLUMN event_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE borrower_events ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE borrower_events ALTER COLUMN borrower_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE event_batches ALTER COLUMN lender_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
GO

ALTER TABLE lenders ADD CONSTRAINT pk_lenders PRIMARY KEY (lender_id);
ALTER TABLE api_keys ADD CONSTRAINT pk_api_keys PRIMARY KEY (key_id);
ALTER TABLE agencies ADD CONSTRAINT pk_agencies PRIMARY KEY (lender_id, agency_id);
ALTER TABLE collectors ADD CONSTRAINT pk_collectors PRIMARY KEY (lender_id, collector_id);
ALTER TABLE accounts ADD CONSTRAINT pk_accounts PRIMARY KEY (lender_id, account_id);
ALTER TABLE contact_index ADD CONSTRAINT pk_contact_index PRIMARY KEY (lender_id, account_id, contact_point_id);
ALTER TABLE flags ADD CONSTRAINT pk_flags PRIMARY KEY (lender_id, flag_id);
ALTER TABLE policies ADD CONSTRAINT pk_policies PRIMARY KEY (lender_id, version);
ALTER TABLE decisions ADD CONSTRAINT pk_decisions PRIMARY KEY (lender_id, decision_id);
ALTER TABLE attempts ADD CONSTRAINT pk_attempts PRIMARY KEY (lender_id, attempt_id);
ALTER TABLE incidents ADD CONSTRAINT pk_incidents PRIMARY KEY (lender_id, incident_id);
ALTER TABLE ledger ADD CONSTRAINT pk_ledger PRIMARY KEY (lender_id, seq);
ALTER TABLE ledger_heads ADD CONSTRAINT pk_ledger_heads PRIMARY KEY (lender_id);
ALTER TABLE checkpoints ADD CONSTRAINT pk_checkpoints PRIMARY KEY (lender_id, seq, anchor);
ALTER TABLE complaints ADD CONSTRAINT pk_complaints PRIMARY KEY (lender_id, complaint_id);
ALTER TABLE event_keys ADD CONSTRAINT pk_event_keys PRIMARY KEY (lender_id, event_id);
ALTER TABLE borrower_events ADD CONSTRAINT pk_borrower_events PRIMARY KEY (lender_id, borrower_id, occurred_at, seq);
ALTER TABLE event_batches ADD CONSTRAINT pk_event_batches PRIMARY KEY (lender_id, last_seq);
ALTER TABLE api_keys ADD CONSTRAINT fk_api_keys_lender FOREIGN KEY (lender_id) REFERENCES lenders (lender_id);
ALTER TABLE agencies ADD CONSTRAINT fk_agencies_lender FOREIGN KEY (lender_id) REFERENCES lenders (lender_id);
ALTER TABLE collectors ADD CONSTRAINT fk_collectors_lender FOREIGN KEY (lender_id) REFERENCES lenders (lender_id);
ALTER TABLE accounts ADD CONSTRAINT fk_accounts_lender FOREIGN KEY (lender_id) REFERENCES lenders (lender_id);
CREATE INDEX ix_api_keys_lender ON api_keys (lender_id);
CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id);
CREATE INDEX ix_contact_index_hash ON contact_index (lender_id, value_hash);
CREATE INDEX ix_flags_account ON flags (lender_id, account_id);
CREATE INDEX ix_decisions_account ON decisions (lender_id, account_id, evaluated_at);
CREATE INDEX ix_decisions_time ON decisions (lender_id, evaluated_at);
CREATE INDEX ix_attempts_borrower ON attempts (lender_id, borrower_id, at);
CREATE INDEX ix_attempts_call ON attempts (lender_id, call_id) WHERE call_id <> '';
CREATE INDEX ix_incidents_created ON incidents (lender_id, created_at);
CREATE INDEX ix_incidents_account ON incidents (lender_id, account_id, rule_id, occurred_at);
CREATE INDEX ix_ledger_account ON ledger (lender_id, account_id, seq);
CREATE INDEX ix_ledger_time ON ledger (lender_id, recorded_at);
CREATE INDEX ix_complaints_account ON complaints (lender_id, account_id);
CREATE INDEX ix_event_log_time ON event_log (lender_id, occurred_at);
CREATE INDEX ix_event_batches_entry ON event_batches (lender_id, ledger_seq);
ALTER TABLE attempts ADD CONSTRAINT df_attempts_call_id DEFAULT '' FOR call_id;
