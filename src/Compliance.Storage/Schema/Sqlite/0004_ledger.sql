-- The tamper-evident ledger (a hash chain per lender), its signed checkpoints, and complaints.

CREATE TABLE ledger (
    lender_id    TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    ref_id       TEXT    NOT NULL,
    account_id   TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (lender_id, seq)
);
CREATE INDEX ix_ledger_account ON ledger (lender_id, account_id, seq);
CREATE INDEX ix_ledger_time ON ledger (lender_id, recorded_at);

CREATE TABLE ledger_heads (
    lender_id    TEXT    NOT NULL PRIMARY KEY,
    seq          INTEGER NOT NULL,
    hash         TEXT    NOT NULL
);

CREATE TABLE checkpoints (
    lender_id    TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    anchor       INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    signed_at    INTEGER NOT NULL,
    signature    TEXT    NOT NULL,
    PRIMARY KEY (lender_id, seq, anchor)
);

CREATE TABLE complaints (
    lender_id     TEXT    NOT NULL,
    complaint_id  TEXT    NOT NULL,
    source        INTEGER NOT NULL,
    reference     TEXT    NOT NULL,
    account_id    TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    text          TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    due_at        INTEGER NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (lender_id, complaint_id)
);
CREATE INDEX ix_complaints_account ON complaints (lender_id, account_id);
