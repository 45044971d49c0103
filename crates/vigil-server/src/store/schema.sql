-- Vigil server schema, version 1. Times are milliseconds since the Unix epoch (UTC);
-- severities are ranks (5 critical ... 0 unknown) so they sort and compare.

CREATE TABLE clusters (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    created   INTEGER NOT NULL,
    last_seen INTEGER,
    events    INTEGER NOT NULL DEFAULT 0  -- raw events held (kept here: COUNT(*) over
                                           -- millions of rows is too slow for a page)
);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    digest     BLOB NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'cluster')),
    cluster_id INTEGER REFERENCES clusters (id),
    created    INTEGER NOT NULL
);

-- Batch ids already stored, so a retried batch is acknowledged but not stored twice.
CREATE TABLE batches (
    cluster_id INTEGER NOT NULL,
    batch_id   TEXT NOT NULL,
    received   INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, batch_id)
) WITHOUT ROWID;
CREATE INDEX batches_received ON batches (received);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    node       TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    pod        TEXT NOT NULL,
    container  TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    cluster_id  INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    title       TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    alert_count INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX incidents_subject ON incidents (cluster_id, subject, last_seen);
CREATE INDEX incidents_last ON incidents (last_seen);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    cluster_id      INTEGER NOT NULL,
    rule_id         TEXT NOT NULL,
    rule            TEXT NOT NULL,
    severity        INTEGER NOT NULL,
    dedup_key       TEXT NOT NULL,
    count           INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    node            TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    pod             TEXT NOT NULL,
    container       TEXT NOT NULL,
    image           TEXT NOT NULL,
    user            TEXT NOT NULL,
    output          TEXT NOT NULL,
    mitre_tactic    TEXT,
    mitre_technique TEXT,
    incident_id     INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    body            TEXT NOT NULL
);
CREATE INDEX alerts_dedup ON alerts (cluster_id, dedup_key, last_seen);
CREATE INDEX alerts_last ON alerts (last_seen);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE images (
    id         INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL,
    name       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    digest     TEXT,
    os         TEXT,
    scanned    INTEGER NOT NULL,
    packages   INTEGER NOT NULL,
    critical   INTEGER NOT NULL,
    high       INTEGER NOT NULL,
    medium     INTEGER NOT NULL,
    low        INTEGER NOT NULL,
    other      INTEGER NOT NULL,
    report     TEXT NOT NULL,
    UNIQUE (cluster_id, reference)
);

CREATE TABLE vulnerabilities (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    vuln_id  TEXT NOT NULL,
    package  TEXT NOT NULL,
    version  TEXT NOT NULL,
    fixed    TEXT NOT NULL,
    severity INTEGER NOT NULL,
    status   TEXT NOT NULL,
    title    TEXT NOT NULL
);
CREATE INDEX vulnerabilities_image ON vulnerabilities (image_id);

CREATE TABLE posture_scans (
    id           INTEGER PRIMARY KEY,
    cluster_id   INTEGER NOT NULL,
    scanned      INTEGER NOT NULL,
    complete     INTEGER NOT NULL,
    findings     INTEGER NOT NULL,
    attack_paths TEXT NOT NULL
);
CREATE INDEX posture_scans_cluster ON posture_scans (cluster_id, scanned);

-- Findings of each cluster's latest scan only; older scans keep their summary row.
CREATE TABLE findings (
    id         INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL,
    scan_id    INTEGER NOT NULL REFERENCES posture_scans (id) ON DELETE CASCADE,
    finding_id TEXT NOT NULL,
    check_id   TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX findings_cluster ON findings (cluster_id, severity);
