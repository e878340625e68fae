-- Consent windows and the source of a wrong-number record (or how a validation notice was given): a consent to calls
-- names the day or time it covers (window_from; NULL: from when it was given), and a wrong-number or validation-notice
-- flag says who said so or how (source; 0 where unknown or not applicable).

ALTER TABLE flags ADD window_from BIGINT NULL;
ALTER TABLE flags ADD source INT NOT NULL CONSTRAINT df_flags_source DEFAULT 0;
