-- Ingested events with their verdicts, incidents, and the link from a dialer's call id to its attempt.

CREATE TABLE events (
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
    outcome            INTEGER NOT NULL,
    duration_ms        INTEGER NOT NULL,
    occurred_at        INTEGER NOT NULL,
    received_at        INTEGER NOT NULL,
    imported           INTEGER NOT NULL,
    risk_score         REAL    NOT NULL,
    violations         TEXT    NOT NULL,
    body               TEXT    NULL,
    PRIMARY KEY (lender_id, event_id)
);
CREATE INDEX ix_events_account ON events (lender_id, account_id, occurred_at);
CREATE INDEX ix_events_collector ON events (lender_id, collector_id, occurred_at);

CREATE TABLE incidents (
    lender_id        TEXT    NOT NULL,
    incident_id      TEXT    NOT NULL,
    rule_id          TEXT    NOT NULL,
    citation         TEXT    NOT NULL,
    severity         INTEGER NOT NULL,
    account_id       TEXT    NOT NULL,
    collector_id     TEXT    NOT NULL,
    summary          TEXT    NOT NULL,
    event_ids        TEXT    NOT NULL,
    occurred_at      INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER NULL,
    acknowledged_by  TEXT    NOT NULL,
    note             TEXT    NOT NULL,
    PRIMARY KEY (lender_id, incident_id)
);
CREATE INDEX ix_incidents_created ON incidents (lender_id, created_at);
CREATE INDEX ix_incidents_account ON incidents (lender_id, account_id, rule_id, occurred_at);

ALTER TABLE attempts ADD COLUMN call_id TEXT NOT NULL DEFAULT '';
CREATE INDEX ix_attempts_call ON attempts (lender_id, call_id);
