-- When a collector was made inactive, so that events from before then (imported or late) are judged as made by an
-- active collector. Collectors already inactive keep no time: the service was not told when they stopped.

ALTER TABLE collectors ADD inactive_since BIGINT NULL;
