-- A stamp per borrower that every change of the borrower's registry data (an account written, a flag set or cleared)
-- moves on. The gate reads it inside the borrower's lock and decides only on cached accounts read at that stamp, so a
-- flag set through one replica binds every replica's next decision. A borrower without a row has stamp 0.

CREATE TABLE registry_stamps (
    lender_id    TEXT    NOT NULL,
    borrower_id  TEXT    NOT NULL,
    stamp        INTEGER NOT NULL,
    PRIMARY KEY (lender_id, borrower_id)
);
