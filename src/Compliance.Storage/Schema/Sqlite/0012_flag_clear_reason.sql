-- Who cleared a flag and why: lifting a cease or attorney flag lifts a legal bar to contact, so the record says
-- which key did it and the reason it gave.

ALTER TABLE flags ADD COLUMN cleared_by TEXT NULL;
ALTER TABLE flags ADD COLUMN clear_reason TEXT NULL;
