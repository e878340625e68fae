-- Fewer index writes per ingested event: reservations and call ids are indexed only where they are set.

DROP INDEX ix_attempts_reserved ON attempts;
DROP INDEX ix_attempts_call ON attempts;
CREATE INDEX ix_attempts_reserved ON attempts (reserved_until) WHERE reserved_until IS NOT NULL;
CREATE INDEX ix_attempts_call ON attempts (lender_id, call_id) WHERE call_id <> '';
