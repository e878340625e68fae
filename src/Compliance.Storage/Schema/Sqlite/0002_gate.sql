-- Lender policies (versioned), gate decisions, and the attempts the conduct windows count.

CREATE TABLE policies (
    lender_id     TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    effective_at  INTEGER NOT NULL,
    document      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    PRIMARY KEY (lender_id, version)
);

CREATE TABLE decisions (
    lender_id          TEXT    NOT NULL,
    decision_id        TEXT    NOT NULL,
    account_id         TEXT    NOT NULL,
    collector_id       TEXT    NOT NULL,
    channel            INTEGER NOT NULL,
    purpose            INTEGER NOT NULL,
    destination_hash   TEXT    NOT NULL,
    destination_masked TEXT    NOT NULL,
    destination_class  INTEGER NOT NULL,
    allowed            INTEGER NOT NULL,
    failed_closed      INTEGER NOT NULL,
    rules              TEXT    NOT NULL,
    profiles           TEXT    NOT NULL,
    next_allowed_at    INTEGER NULL,
    policy_version     TEXT    NOT NULL,
    evaluated_at       INTEGER NOT NULL,
    reserved_until     INTEGER NULL,
    key_id             TEXT    NOT NULL,
    PRIMARY KEY (lender_id, decision_id)
);
CREATE INDEX ix_decisions_account ON decisions (lender_id, account_id, evaluated_at);

-- One row per contact that counts: a gate reservation (attempt_id = decision id) or, later, an event.
CREATE TABLE attempts (
    lender_id          TEXT    NOT NULL,
    attempt_id         TEXT    NOT NULL,
    borrower_id        TEXT    NOT NULL,
    account_id         TEXT    NOT NULL,
    collector_id       TEXT    NOT NULL,
    channel            INTEGER NOT NULL,
    destination_hash   TEXT    NOT NULL,
    destination_class  INTEGER NOT NULL,
    party_id           TEXT    NOT NULL,
    destination_use    INTEGER NOT NULL,
    purpose            INTEGER NOT NULL,
    outcome            INTEGER NOT NULL,
    at                 INTEGER NOT NULL,
    reserved_until     INTEGER NULL,
    released_at        INTEGER NULL,
    PRIMARY KEY (lender_id, attempt_id)
);
CREATE INDEX ix_attempts_borrower ON attempts (lender_id, borrower_id, at);
CREATE INDEX ix_attempts_reserved ON attempts (reserved_until);
