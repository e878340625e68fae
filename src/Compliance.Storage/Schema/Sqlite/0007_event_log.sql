-- Events become an append-only log with one row per event: a contact is no longer also an attempts row, and the
-- ledger records each group commit as one entry over the hashes of its events (a Merkle root) instead of one entry
-- per event. Lookups by event id and by borrower live in two key tables; the embedded store fills them in bulk,
-- every many thousand events, rather than row by row (event_index_state.indexed_seq says how far they reach; the
-- service keeps the newer rows' keys in memory and rebuilds them from the log at start).

CREATE TABLE event_log (
    seq                INTEGER NOT NULL PRIMARY KEY,
    lender_id          TEXT    NOT NULL,
    event_id           TEXT    NOT NULL,
    kind               INTEGER NOT NULL,
    account_id         TEXT    NOT NULL,
    borrower_id        TEXT    NOT NULL,
    collector_id       TEXT    NOT NULL,
    decision_id        TEXT    NOT NULL,
    call_id            TEXT    NOT NULL,
    channel            INTEGER NOT NULL,
    purpose            INTEGER NOT NULL,
    destination_hash   TEXT    NOT NULL,
    destination_masked TEXT    NOT NULL,
    destination_class  INTEGER NOT NULL,
    party_id           TEXT    NOT NULL,
    destination_use    INTEGER NOT NULL,
    outcome            INTEGER NOT NULL,
    duration_ms        INTEGER NOT NULL,
    occurred_at        INTEGER NOT NULL,
    received_at        INTEGER NOT NULL,
    imported           INTEGER NOT NULL,
    risk_score         REAL    NOT NULL,
    violations         TEXT    NOT NULL,
    body               TEXT    NULL,
    counts             INTEGER NOT NULL
);
CREATE INDEX ix_event_log_time ON event_log (lender_id, occurred_at);

CREATE TABLE event_keys (
    lender_id  TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (lender_id, event_id)
) WITHOUT ROWID;

CREATE TABLE borrower_events (
    lender_id    TEXT    NOT NULL,
    borrower_id  TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (lender_id, borrower_id, occurred_at, seq)
) WITHOUT ROWID;

CREATE TABLE event_batches (
    lender_id   TEXT    NOT NULL,
    last_seq    INTEGER NOT NULL,
    first_seq   INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    ledger_seq  INTEGER NOT NULL,
    PRIMARY KEY (lender_id, last_seq)
);

CREATE INDEX ix_event_batches_entry ON event_batches (lender_id, ledger_seq);

CREATE TABLE event_index_state (
    id           INTEGER NOT NULL PRIMARY KEY,
    indexed_seq  INTEGER NOT NULL
);

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
LEFT JOIN attempts a ON a.lender_id = e.lender_id AND a.attempt_id = 'evt:' || e.event_id;

DELETE FROM attempts WHERE attempt_id LIKE 'evt:%';
DROP TABLE events;

INSERT INTO event_keys (lender_id, event_id, seq) SELECT lender_id, event_id, seq FROM event_log;
INSERT INTO borrower_events (lender_id, borrower_id, occurred_at, seq) SELECT lender_id, borrower_id, occurred_at, seq FROM event_log;
INSERT INTO event_index_state (id, indexed_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM event_log;
