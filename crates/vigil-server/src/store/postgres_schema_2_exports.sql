-- Version 2: where each export sink has got to (as SQLite's schema_2_exports.sql).
CREATE TABLE export_cursors (
    sink          TEXT PRIMARY KEY,
    last_alert_id BIGINT NOT NULL
);
