-- The calling window a decision used: the zones the person may be in with the indicator of each, the local window
-- and the span it held in every zone (JSON). Empty for decisions no hours rule judged and for those made before.

ALTER TABLE decisions ADD COLUMN hours TEXT NULL;
