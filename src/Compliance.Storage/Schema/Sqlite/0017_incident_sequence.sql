-- Replicas that agree (issue 20). Incidents get a sequence per lender, given at insert as one more than the lender's
-- highest, inside the ingest's write transaction: the order in which incidents are committed, without gaps, so
-- Alerts.Watch can tail the table by it and a watcher can resume after the last one it saw. Existing incidents are
-- numbered in the order they were stored. Collectors get a stamp that every change moves on, which the gate reads
-- beside the borrower's registry stamp, so a collector changed through one replica binds every replica's next decision.

ALTER TABLE incidents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE incidents SET seq = r.n
FROM (SELECT lender_id, incident_id, ROW_NUMBER() OVER (PARTITION BY lender_id ORDER BY created_at, incident_id) AS n FROM incidents) AS r
WHERE r.lender_id = incidents.lender_id AND r.incident_id = incidents.incident_id;
CREATE UNIQUE INDEX ix_incidents_seq ON incidents (lender_id, seq);

ALTER TABLE collectors ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0;
