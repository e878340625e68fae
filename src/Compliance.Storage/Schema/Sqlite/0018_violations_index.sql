-- Reports count the events that broke a rule (a few in a hundred) per collector and list of violations: they have an
-- index of their own, so counting them reads those events' rows and does not pass over the period's rows a second time.
-- (SQL Server has none: its filtered indexes ask every writer for particular SET options, and nothing measured it.)

CREATE INDEX ix_event_log_violations ON event_log (lender_id, occurred_at) WHERE violations <> '[]';
