-- Version 4: the vulnerability database state an image's report was matched against.
ALTER TABLE images ADD COLUMN db_updated TEXT;
