-- Lender policies (versioned), gate decisions, and the attempts the conduct windows count.

CREATE TABLE policies (
    lender_id     NVARCHAR(128)    NOT NULL,
    version       INT NOT NULL,
    effective_at  BIGINT NOT NULL,
    document      NVARCHAR(MAX)    NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    NVARCHAR(128)    NOT NULL,
    PRIMARY KEY (lender_id, version)
);

CREATE TABLE decisions (
    lender_id          NVARCHAR(128)    NOT NULL,
    decision_id        NVARCHAR(128)    NOT NULL,
    account_id         NVARCHAR(128)    NOT NULL,
    collector_id       NVARCHAR(128)    NOT NULL,
    channel            INT NOT NULL,
    purpose            INT NOT NULL,
    destination_hash   NVARCHAR(128)    NOT NULL,
    destination_masked NVARCHAR(256)    NOT NULL,
    destination_class  INT NOT NULL,
    allowed            BIT NOT NULL,
    failed_closed      BIT NOT NULL,
    rules              NVARCHAR(MAX)    NOT NULL,
    profiles           NVARCHAR(1000)    NOT NULL,
    next_allowed_at    BIGINT NULL,
    policy_version     NVARCHAR(128)    NOT NULL,
    evaluated_at       BIGINT NOT NULL,
    reserved_until     BIGINT NULL,
    key_id             NVARCHAR(128)    NOT NULL,
    PRIMARY KEY (lender_id, decision_id)
);
CREATE INDEX ix_decisions_account ON decisions (lender_id, account_id, evaluated_at);

-- One row per contact that counts: a gate reservation (attempt_id = decision id) or, later, an event.
CREATE TABLE attempts (
    lender_id          NVARCHAR(128)    NOT NULL,
    attempt_id         NVARCHAR(128)    NOT NULL,
    borrower_id        NVARCHAR(128)    NOT NULL,
    account_id         NVARCHAR(128)    NOT NULL,
    collector_id       NVARCHAR(128)    NOT NULL,
    channel            INT NOT NULL,
    destination_hash   NVARCHAR(128)    NOT NULL,
    destination_class  INT NOT NULL,
    party_id           NVARCHAR(128)    NOT NULL,
    destination_use    INT NOT NULL,
    purpose            INT NOT NULL,
    outcome            INT NOT NULL,
    at                 BIGINT NOT NULL,
    reserved_until     BIGINT NULL,
    released_at        BIGINT NULL,
    PRIMARY KEY (lender_id, attempt_id)
);
CREATE INDEX ix_attempts_borrower ON attempts (lender_id, borrower_id, at);
CREATE INDEX ix_attempts_reserved ON attempts (reserved_until);
