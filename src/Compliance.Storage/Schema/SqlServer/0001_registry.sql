-- Lenders, API keys, agencies, collectors, accounts and their flags.
-- Times are Unix milliseconds (UTC) in every table and every provider.

CREATE TABLE lenders (
    lender_id     NVARCHAR(128) NOT NULL PRIMARY KEY,
    display_name  NVARCHAR(256)    NOT NULL,
    country_code  NVARCHAR(128)    NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_id        NVARCHAR(128) NOT NULL PRIMARY KEY,
    lender_id     NVARCHAR(128)    NOT NULL REFERENCES lenders (lender_id),
    role          INT NOT NULL,
    display_name  NVARCHAR(256)    NOT NULL,
    secret_hash   NVARCHAR(128)    NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT NULL
);
CREATE INDEX ix_api_keys_lender ON api_keys (lender_id);

CREATE TABLE agencies (
    lender_id     NVARCHAR(128)    NOT NULL REFERENCES lenders (lender_id),
    agency_id     NVARCHAR(128)    NOT NULL,
    display_name  NVARCHAR(256)    NOT NULL,
    active        BIT NOT NULL,
    PRIMARY KEY (lender_id, agency_id)
);

CREATE TABLE collectors (
    lender_id     NVARCHAR(128)    NOT NULL REFERENCES lenders (lender_id),
    collector_id  NVARCHAR(128)    NOT NULL,
    agency_id     NVARCHAR(128)    NOT NULL,
    display_name  NVARCHAR(256)    NOT NULL,
    kind          INT NOT NULL,
    active        BIT NOT NULL,
    PRIMARY KEY (lender_id, collector_id)
);

CREATE TABLE accounts (
    lender_id     NVARCHAR(128)    NOT NULL REFERENCES lenders (lender_id),
    account_id    NVARCHAR(128)    NOT NULL,
    borrower_id   NVARCHAR(128)    NOT NULL,
    borrower_name NVARCHAR(256)    NOT NULL,
    country_code  NVARCHAR(128)    NOT NULL,
    region        NVARCHAR(128)    NOT NULL,
    postal_code   NVARCHAR(128)    NOT NULL,
    time_zone     NVARCHAR(128)    NOT NULL,
    document      NVARCHAR(MAX) NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    revision      BIGINT NOT NULL,
    PRIMARY KEY (lender_id, account_id)
);
CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id);

-- Hashes of every registered contact point, to find which account (and party) a number belongs to.
CREATE TABLE contact_index (
    lender_id        NVARCHAR(128) NOT NULL,
    account_id       NVARCHAR(128) NOT NULL,
    contact_point_id NVARCHAR(128) NOT NULL,
    party_id         NVARCHAR(128) NOT NULL,
    value_hash       NVARCHAR(128) NOT NULL,
    PRIMARY KEY (lender_id, account_id, contact_point_id)
);
CREATE INDEX ix_contact_index_hash ON contact_index (lender_id, value_hash);

CREATE TABLE flags (
    lender_id        NVARCHAR(128)    NOT NULL,
    flag_id          NVARCHAR(128)    NOT NULL,
    account_id       NVARCHAR(128)    NOT NULL,
    type             INT NOT NULL,
    effective_from   BIGINT NOT NULL,
    expires_at       BIGINT NULL,
    channel          INT NOT NULL,
    party_id         NVARCHAR(128)    NOT NULL,
    contact_point_id NVARCHAR(128)    NOT NULL,
    note             NVARCHAR(2000) NOT NULL,
    set_by           NVARCHAR(128)    NOT NULL,
    cleared_at       BIGINT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (lender_id, flag_id)
);
CREATE INDEX ix_flags_account ON flags (lender_id, account_id);
