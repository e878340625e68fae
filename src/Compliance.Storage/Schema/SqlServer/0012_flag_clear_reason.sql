-- Who cleared a flag and why: lifting a cease or attorney flag lifts a legal bar to contact, so the record says
-- which key did it and the reason it gave.

ALTER TABLE flags ADD cleared_by NVARCHAR(128) NULL, clear_reason NVARCHAR(2000) NULL;
