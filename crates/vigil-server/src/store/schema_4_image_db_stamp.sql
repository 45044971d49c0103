-- Version 4: which state of the vulnerability database an image's report was matched
-- against (`DatabaseInfo::version`: its sources and last write), so the server finds the
-- reports to match again when the database changes.
ALTER TABLE images ADD COLUMN db_updated TEXT;
