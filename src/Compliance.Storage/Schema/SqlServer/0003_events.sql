-- Ingested events with their verdicts, incidents, and the link from a dialer's call id to its attempt.

CREATE TABLE events (
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
    outcome            INT NOT NULL,
    duration_ms        BIGINT NOT NULL,
    occurred_at        BIGINT NOT NULL,
    received_at        BIGINT NOT NULL,
    imported           BIT NOT NULL,
    risk_score         FLOAT    NOT NULL,
    violations         NVARCHAR(MAX)    NOT NULL,
    body               NVARCHAR(MAX)    NULL,
    PRIMARY KEY (lender_id, event_id)
);
CREATE INDEX ix_events_account ON events (lender_id, account_id, occurred_at);
CREATE INDEX ix_events_collector ON events (lender_id, collector_id, occurred_at);

CREATE TABLE incidents (
    lender_id        NVARCHAR(128)    NOT NULL,
    incident_id      NVARCHAR(128)    NOT NULL,
    rule_id          NVARCHAR(128)    NOT NULL,
    citation         NVARCHAR(512)    NOT NULL,
    severity         INT NOT NULL,
    account_id       NVARCHAR(128)    NOT NULL,
    collector_id     NVARCHAR(128)    NOT NULL,
    summary          NVARCHAR(2000)    NOT NULL,
    event_ids        NVARCHAR(MAX)    NOT NULL,
    occurred_at      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    acknowledged_at  BIGINT NULL,
    acknowledged_by  NVARCHAR(128)    NOT NULL,
    note             NVARCHAR(2000)    NOT NULL,
    PRIMARY KEY (lender_id, incident_id)
);
CREATE INDEX ix_incidents_created ON incidents (lender_id, created_at);
CREATE INDEX ix_incidents_account ON incidents (lender_id, account_id, rule_id, occurred_at);

ALTER TABLE attempts ADD call_id NVARCHAR(128) NOT NULL CONSTRAINT df_attempts_call_id DEFAULT '';
GO
CREATE INDEX ix_attempts_call ON attempts (lender_id, call_id);
