-- Version 2: where each export sink has got to. Alerts are exported in id order; a
-- sink's cursor moves only after delivery, so a crash re-sends rather than loses.
CREATE TABLE export_cursors (
    sink          TEXT PRIMARY KEY,
    last_alert_id INTEGER NOT NULL
);
