-- Version 4: which vulnerability database an image's report was matched against (its
-- `database.updated`), so the server finds the reports to match again when it changes.
ALTER TABLE images ADD COLUMN db_updated TEXT;
