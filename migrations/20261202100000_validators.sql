-- Conditional requests: the validator (an HTTP `ETag`) an upstream gave with the last
-- values recorded for a source. Polls send it back as `If-None-Match`; a `304 Not
-- Modified` records the last values again at the new time. NULL: none given (most
-- upstreams), or not polled since.
ALTER TABLE sources ADD COLUMN validator text;
