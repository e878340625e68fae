-- Events become an append-only log with one row per event: a contact is no longer also an attempts row, and the
-- ledger records each group commit as one entry over the hashes of its events (a Merkle root) instead of one entry
-- per event. Lookups by event id and by borrower live in two key tables, written with each commit on SQL Server
-- (event_index_state.indexed_seq always equals the newest seq here; the embedded store fills them in bulk).

CREATE TABLE event_log (
    seq                BIGINT NOT NULL PRIMARY KEY,
    lender_id          NVARCHAR(128)    NOT NULL,
    event_id           NVARCHAR(128)    NOT NULL,
    kind               INT NOT NULL,
    account_id         NVARCHAR(128)    NOT NULL,
    borrower_id        NVARCHAR(128)    NOT NULL,
    collector_id       NVARCHAR(128)    NOT NULL,
    decision_id        NVARCHAR(128)    NOT NULL,
    call_id            NVARCHAR(128)    NOT NULL,
    channel            INT NOT NULL,
    purpose            INT NOT NULL,
    destination_hash   NVARCHAR(128)    NOT NULL,
    destination_masked NVARCHAR(256)    NOT NULL,
    destination_class  INT NOT NULL,
    party_id           NVARCHAR(128)    NOT NULL,
    destination_use    INT NOT NULL,
    outcome            INT NOT NULL,
    duration_ms        BIGINT NOT NULL,
    occurred_at        BIGINT NOT NULL,
    received_at        BIGINT NOT NULL,
    imported           BIT NOT NULL,
    risk_score         FLOAT    NOT NULL,
    violations         NVARCHAR(MAX)    NOT NULL,
    body               NVARCHAR(MAX)    NULL,
    counts             INT NOT NULL
);
CREATE INDEX ix_event_log_time ON event_log (lender_id, occurred_at);

CREATE TABLE event_keys (
    lender_id  NVARCHAR(128) NOT NULL,
    event_id   NVARCHAR(128) NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (lender_id, event_id)
);

CREATE TABLE borrower_events (
    lender_id    NVARCHAR(128) NOT NULL,
    borrower_id  NVARCHAR(128) NOT NULL,
    occurred_at  BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    PRIMARY KEY (lender_id, borrower_id, occurred_at, seq)
);

CREATE TABLE event_batches (
    lender_id   NVARCHAR(128) NOT NULL,
    last_seq    BIGINT NOT NULL,
    first_seq   BIGINT NOT NULL,
    events      INT NOT NULL,
    ledger_seq  BIGINT NOT NULL,
    PRIMARY KEY (lender_id, last_seq)
);

CREATE INDEX ix_event_batches_entry ON event_batches (lender_id, ledger_seq);

CREATE TABLE event_index_state (
    id           INT NOT NULL PRIMARY KEY,
    indexed_seq  BIGINT NOT NULL
);
GO

-- Existing events move over in the order they were received. Those that were counted as attempts (attempt id
-- 'evt:' + event id) count from their own row now; the outcomes of calls come from the call's later events.
INSERT INTO event_log (seq, lender_id, event_id, kind, account_id, borrower_id, collector_id, decision_id, call_id, channel, purpose,
    destination_hash, destination_masked, destination_class, party_id, destination_use, outcome, duration_ms, occurred_at, received_at,
    imported, risk_score, violations, body, counts)
SELECT ROW_NUMBER() OVER (ORDER BY e.received_at, e.lender_id, e.event_id), e.lender_id, e.event_id, e.kind, e.account_id, e.borrower_id,
    e.collector_id, e.decision_id, e.call_id, e.channel, e.purpose, e.destination_hash, e.destination_masked, e.destination_class, e.party_id,
    COALESCE(a.destination_use, 0), e.outcome, e.duration_ms, e.occurred_at, e.received_at, e.imported, e.risk_score, e.violations, e.body,
    CASE WHEN a.attempt_id IS NOT NULL THEN 1 WHEN e.kind IN (2, 3, 5) AND e.call_id <> '' THEN 2 ELSE 0 END
FROM events e
LEFT JOIN attempts a ON a.lender_id = e.lender_id AND a.attempt_id = 'evt:' + e.event_id;

DELETE FROM attempts WHERE attempt_id LIKE 'evt:%';
DROP TABLE events;

INSERT INTO event_keys (lender_id, event_id, seq) SELECT lender_id, event_id, seq FROM event_log;
INSERT INTO borrower_events (lender_id, borrower_id, occurred_at, seq) SELECT lender_id, borrower_id, occurred_at, seq FROM event_log;
INSERT INTO event_index_state (id, indexed_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM event_log;
