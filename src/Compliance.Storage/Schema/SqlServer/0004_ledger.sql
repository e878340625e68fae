-- The tamper-evident ledger (a hash chain per lender), its signed checkpoints, and complaints.

CREATE TABLE ledger (
    lender_id    NVARCHAR(128)    NOT NULL,
    seq          BIGINT NOT NULL,
    kind         INT NOT NULL,
    ref_id       NVARCHAR(128)    NOT NULL,
    account_id   NVARCHAR(128)    NOT NULL,
    recorded_at  BIGINT NOT NULL,
    payload      NVARCHAR(MAX)    NOT NULL,
    prev_hash    NVARCHAR(128)    NOT NULL,
    hash         NVARCHAR(128)    NOT NULL,
    PRIMARY KEY (lender_id, seq)
);
CREATE INDEX ix_ledger_account ON ledger (lender_id, account_id, seq);
CREATE INDEX ix_ledger_time ON ledger (lender_id, recorded_at);

CREATE TABLE ledger_heads (
    lender_id    NVARCHAR(128)    NOT NULL PRIMARY KEY,
    seq          BIGINT NOT NULL,
    hash         NVARCHAR(128)    NOT NULL
);

CREATE TABLE checkpoints (
    lender_id    NVARCHAR(128)    NOT NULL,
    seq          BIGINT NOT NULL,
    anchor       BIT NOT NULL,
    hash         NVARCHAR(128)    NOT NULL,
    signed_at    BIGINT NOT NULL,
    signature    NVARCHAR(512)    NOT NULL,
    PRIMARY KEY (lender_id, seq, anchor)
);

CREATE TABLE complaints (
    lender_id     NVARCHAR(128)    NOT NULL,
    complaint_id  NVARCHAR(128)    NOT NULL,
    source        INT NOT NULL,
    reference     NVARCHAR(256)    NOT NULL,
    account_id    NVARCHAR(128)    NOT NULL,
    received_at   BIGINT NOT NULL,
    text          NVARCHAR(MAX)    NOT NULL,
    status        INT NOT NULL,
    due_at        BIGINT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (lender_id, complaint_id)
);
CREATE INDEX ix_complaints_account ON complaints (lender_id, account_id);
