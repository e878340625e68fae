-- Lenders, API keys, agencies, collectors, accounts and their flags.
-- Times are Unix milliseconds (UTC) in every table and every provider.

CREATE TABLE lenders (
    lender_id     TEXT    NOT NULL PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    country_code  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_id        TEXT    NOT NULL PRIMARY KEY,
    lender_id     TEXT    NOT NULL REFERENCES lenders (lender_id),
    role          INTEGER NOT NULL,
    display_name  TEXT    NOT NULL,
    secret_hash   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER NULL
);
CREATE INDEX ix_api_keys_lender ON api_keys (lender_id);

CREATE TABLE agencies (
    lender_id     TEXT    NOT NULL REFERENCES lenders (lender_id),
    agency_id     TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    active        INTEGER NOT NULL,
    PRIMARY KEY (lender_id, agency_id)
);

CREATE TABLE collectors (
    lender_id     TEXT    NOT NULL REFERENCES lenders (lender_id),
    collector_id  TEXT    NOT NULL,
    agency_id     TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    kind          INTEGER NOT NULL,
    active        INTEGER NOT NULL,
    PRIMARY KEY (lender_id, collector_id)
);

CREATE TABLE accounts (
    lender_id     TEXT    NOT NULL REFERENCES lenders (lender_id),
    account_id    TEXT    NOT NULL,
    borrower_id   TEXT    NOT NULL,
    borrower_name TEXT    NOT NULL,
    country_code  TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    postal_code   TEXT    NOT NULL,
    time_zone     TEXT    NOT NULL,
    document      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    revision      INTEGER NOT NULL,
    PRIMARY KEY (lender_id, account_id)
);
CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id);

-- Hashes of every registered contact point, to find which account (and party) a number belongs to.
CREATE TABLE contact_index (
    lender_id        TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    contact_point_id TEXT NOT NULL,
    party_id         TEXT NOT NULL,
    value_hash       TEXT NOT NULL,
    PRIMARY KEY (lender_id, account_id, contact_point_id)
);
CREATE INDEX ix_contact_index_hash ON contact_index (lender_id, value_hash);

CREATE TABLE flags (
    lender_id        TEXT    NOT NULL,
    flag_id          TEXT    NOT NULL,
    account_id       TEXT    NOT NULL,
    type             INTEGER NOT NULL,
    effective_from   INTEGER NOT NULL,
    expires_at       INTEGER NULL,
    channel          INTEGER NOT NULL,
    party_id         TEXT    NOT NULL,
    contact_point_id TEXT    NOT NULL,
    note             TEXT    NOT NULL,
    set_by           TEXT    NOT NULL,
    cleared_at       INTEGER NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (lender_id, flag_id)
);
CREATE INDEX ix_flags_account ON flags (lender_id, account_id);
