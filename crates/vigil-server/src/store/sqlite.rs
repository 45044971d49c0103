//! The embedded default: one SQLite file in WAL mode under the data directory.
//!
//! One writer connection (SQLite has one writer at a time anyway) and a small pool of
//! read connections, which WAL lets read while the writer writes. `synchronous = NORMAL`
//! in WAL mode loses nothing committed when the process dies (`kill -9`); only a power
//! cut can take the last transactions, the trade-off most SQLite servers make.

use super::*;
use crate::auth::{Principal, Role};
use crate::correlate::{self, Windows};
use crate::ingest::{AlertRecord, Batch};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use vigil_core::{PostureReport, VulnReport, VulnStatus};

/// The schema migrations, in order; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_2_exports.sql"),
    include_str!("schema_3_event_indexes.sql"),
    include_str!("schema_4_image_db_stamp.sql"),
];

/// Read connections kept open between requests.
const POOL: usize = 4;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    busy: Duration,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.path.display())
    }
}

fn error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly
            | ErrorCode::FileLockingProtocolFailed,
        ) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("encoding JSON: {e}"))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` and brings its schema up to
    /// date. `busy` is how long a statement waits for a lock before the store reports
    /// itself unavailable.
    pub fn open(path: &Path, busy: Duration) -> Result<SqliteStore, StoreError> {
        let mut conn = Self::connect(path, busy)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(error)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            busy,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn connect(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", path.display())))?;
        conn.busy_timeout(busy).map_err(error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(error)?;
        Ok(conn)
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Other("a writer panicked".into()))?;
        f(&mut conn)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Self::connect(&self.path, self.busy)?;
                c.pragma_update(None, "query_only", "ON").map_err(error)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < POOL
        {
            pool.push(conn);
        }
        result
    }
}

/// Runs the migrations the database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(error)?;
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Invalid(format!(
            "the database has schema version {done}, newer than this Vigil knows ({}): \
             use a newer vigil",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction().map_err(error)?;
        tx.execute_batch(sql).map_err(error)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(error)?;
        tx.commit().map_err(error)?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}

/// A WHERE clause built from the filters given, with its parameters.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    /// Only the rows of `q.cluster`, matched by id so counting needs no join.
    fn cluster(&mut self, q: &ListQuery) {
        if let Some(c) = q.cluster.as_deref().filter(|c| !c.is_empty()) {
            self.add(
                "t.cluster_id = (SELECT id FROM clusters WHERE name = ?)",
                [Value::Text(c.to_string())],
            );
        }
    }

    fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.to_string());
        self.params.extend(values);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The cluster, minimum severity and `since` filters, on a table aliased `t` with a
    /// `severity` column and the time column `time`.
    fn common(q: &ListQuery, time: &str) -> Result<Where, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        if let Some(s) = q.min_severity()? {
            w.add("t.severity >= ?", [Value::Integer(rank(s))]);
        }
        if let Some(since) = q.since_ms()? {
            w.add(&format!("t.{time} >= ?"), [Value::Integer(since)]);
        }
        Ok(w)
    }

    /// `q` as a substring of any of `columns`.
    fn search(&mut self, q: &ListQuery, columns: &[&str]) {
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", text.replace(['%', '_', '\\'], ""));
            let any: Vec<String> = columns.iter().map(|c| format!("t.{c} LIKE ?")).collect();
            self.add(
                &format!("({})", any.join(" OR ")),
                columns.iter().map(|_| Value::Text(pattern.clone())),
            );
        }
    }

    /// `q` as a node or pod name, or the start of a container id: each answered by its
    /// column's index (a substring search would read every row of a table of millions).
    fn place(&mut self, q: &ListQuery) {
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            let text = text.to_string();
            self.add(
                "(t.node = ? OR t.pod = ? OR (t.container >= ? AND t.container < ?))",
                [
                    Value::Text(text.clone()),
                    Value::Text(text.clone()),
                    Value::Text(text.clone()),
                    Value::Text(format!("{text}\u{10FFFF}")),
                ],
            );
        }
    }

    fn with_page(&self, q: &ListQuery) -> Vec<Value> {
        let mut p = self.params.clone();
        p.push(Value::Integer(q.limit()));
        p.push(Value::Integer(q.offset()));
        p
    }
}

fn total(conn: &Connection, from: &str, w: &Where) -> Result<u64, StoreError> {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {from} {}", w.sql()),
        rusqlite::params_from_iter(&w.params),
        |r| r.get::<_, i64>(0),
    )
    .map(count)
    .map_err(error)
}

const ALERT_COLUMNS: &str = "t.id, c.name, t.rule_id, t.rule, t.severity, t.count, t.first_seen, \
     t.last_seen, t.node, t.namespace, t.pod, t.container, t.image, t.user, t.output, \
     t.mitre_tactic, t.mitre_technique, t.incident_id";

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        cluster: r.get(1)?,
        rule_id: r.get(2)?,
        rule: r.get(3)?,
        severity: severity_of(r.get(4)?),
        count: count(r.get(5)?),
        first_seen: rfc3339(r.get(6)?),
        last_seen: rfc3339(r.get(7)?),
        node: r.get(8)?,
        namespace: r.get(9)?,
        pod: r.get(10)?,
        container: r.get(11)?,
        image: r.get(12)?,
        user: r.get(13)?,
        output: r.get(14)?,
        mitre_tactic: r.get(15)?,
        mitre_technique: r.get(16)?,
        incident_id: r.get(17)?,
    })
}

const INCIDENT_COLUMNS: &str =
    "t.id, c.name, t.subject, t.title, t.severity, t.alert_count, t.first_seen, t.last_seen";

fn incident_row(r: &Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.get(0)?,
        cluster: r.get(1)?,
        subject: r.get(2)?,
        title: r.get(3)?,
        severity: severity_of(r.get(4)?),
        alert_count: count(r.get(5)?),
        first_seen: rfc3339(r.get(6)?),
        last_seen: rfc3339(r.get(7)?),
    })
}

const IMAGE_COLUMNS: &str = "t.id, c.name, t.name, t.reference, t.digest, t.os, t.scanned, \
     t.packages, t.critical, t.high, t.medium, t.low, t.other";

fn image_row(r: &Row<'_>) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        id: r.get(0)?,
        cluster: r.get(1)?,
        name: r.get(2)?,
        reference: r.get(3)?,
        digest: r.get(4)?,
        os: r.get(5)?,
        scanned: rfc3339(r.get(6)?),
        packages: count(r.get(7)?),
        vulnerabilities: SeverityCounts {
            critical: count(r.get(8)?),
            high: count(r.get(9)?),
            medium: count(r.get(10)?),
            low: count(r.get(11)?),
            other: count(r.get(12)?),
        },
    })
}

fn json_column(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// The cluster's id, registering it when new.
fn cluster_id(tx: &Connection, name: &str, now_ms: i64) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO clusters (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now_ms],
    )
    .map_err(error)?;
    tx.query_row("SELECT id FROM clusters WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .map_err(error)
}

/// Folds `a` into a recent alert with the same key, or stores it and files it under an
/// incident. Returns true when it was folded.
fn store_alert(
    tx: &Connection,
    cluster: i64,
    a: &AlertRecord,
    windows: Windows,
) -> Result<bool, StoreError> {
    let key = correlate::dedup_key(a);
    let sev = rank(a.alert.severity);
    let folded: Option<(i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT id, incident_id FROM alerts WHERE cluster_id = ?1 AND dedup_key = ?2 \
             AND last_seen >= ?3 ORDER BY last_seen DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![cluster, key, a.time_ms - windows.dedup_ms], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(error)?;
    if let Some((id, incident)) = folded {
        tx.prepare_cached(
            "UPDATE alerts SET count = count + 1, last_seen = max(last_seen, ?2), \
             first_seen = min(first_seen, ?2) WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![id, a.time_ms]))
        .map_err(error)?;
        if let Some(incident) = incident {
            touch_incident(tx, incident, a, sev)?;
        }
        return Ok(true);
    }
    let incident = match correlate::subject(a) {
        Some(subject) => Some(file_incident(tx, cluster, &subject, a, sev, windows)?),
        None => None,
    };
    let body = serde_json::to_string(&a.alert).map_err(json_error)?;
    let p = &a.place;
    tx.prepare_cached(
        "INSERT INTO alerts (cluster_id, rule_id, rule, severity, dedup_key, count, first_seen, \
         last_seen, node, namespace, pod, container, image, user, output, mitre_tactic, \
         mitre_technique, incident_id, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )
    .and_then(|mut s| {
        s.execute(params![
            cluster,
            a.alert.rule_id,
            a.alert.rule,
            sev,
            key,
            a.time_ms,
            p.node,
            p.namespace,
            p.pod,
            p.container,
            p.image,
            p.user,
            a.alert.output,
            a.alert.mitre_tactic,
            a.alert.mitre_technique,
            incident,
            body
        ])
    })
    .map_err(error)?;
    Ok(false)
}

/// Counts `a` in an incident, raising its severity and title when `a` is worse.
fn touch_incident(
    tx: &Connection,
    incident: i64,
    a: &AlertRecord,
    sev: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE incidents SET alert_count = alert_count + 1, \
         last_seen = max(last_seen, ?2), first_seen = min(first_seen, ?2), \
         title = CASE WHEN ?3 > severity THEN ?4 ELSE title END, \
         severity = max(severity, ?3) WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![incident, a.time_ms, sev, a.alert.rule]))
    .map_err(error)?;
    Ok(())
}

/// The open incident about `subject`, or a new one.
fn file_incident(
    tx: &Connection,
    cluster: i64,
    subject: &str,
    a: &AlertRecord,
    sev: i64,
    windows: Windows,
) -> Result<i64, StoreError> {
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM incidents WHERE cluster_id = ?1 AND subject = ?2 \
             AND last_seen >= ?3 ORDER BY last_seen DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(
                params![cluster, subject, a.time_ms - windows.incident_ms],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(error)?;
    if let Some(id) = open {
        touch_incident(tx, id, a, sev)?;
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT INTO incidents (cluster_id, subject, title, severity, alert_count, first_seen, \
         last_seen) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
    )
    .and_then(|mut s| s.execute(params![cluster, subject, a.alert.rule, sev, a.time_ms]))
    .map_err(error)?;
    Ok(tx.last_insert_rowid())
}

fn store_image(
    tx: &Connection,
    cluster: i64,
    report: &VulnReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut counts = SeverityCounts::default();
    let actionable = report.actionable();
    for m in &actionable {
        counts.add(m.severity, 1);
    }
    let inv = &report.inventory;
    let os = inv
        .os
        .as_ref()
        .map(|o| format!("{} {}", o.id, o.version_id));
    let body = serde_json::to_string(report).map_err(json_error)?;
    tx.execute(
        "DELETE FROM images WHERE cluster_id = ?1 AND reference = ?2",
        params![cluster, inv.target.reference],
    )
    .map_err(error)?;
    tx.execute(
        "INSERT INTO images (cluster_id, name, reference, digest, os, scanned, packages, \
         critical, high, medium, low, other, report, db_updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            cluster,
            inv.target.name,
            inv.target.reference,
            inv.manifest_digest,
            os,
            now_ms,
            inv.packages.len() as i64,
            counts.critical as i64,
            counts.high as i64,
            counts.medium as i64,
            counts.low as i64,
            counts.other as i64,
            body,
            report.database.version()
        ],
    )
    .map_err(error)?;
    let image = tx.last_insert_rowid();
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO vulnerabilities (image_id, vuln_id, package, version, fixed, severity, \
             status, title) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(error)?;
    for m in actionable {
        insert
            .execute(params![
                image,
                m.id,
                m.package.name,
                m.package.version,
                m.fixed_versions.join(", "),
                rank(m.severity),
                status_name(m.status),
                m.title
            ])
            .map_err(error)?;
    }
    Ok(())
}

fn status_name(s: VulnStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn store_posture(
    tx: &Connection,
    cluster: i64,
    report: &PostureReport,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let scanned = report
        .target
        .taken_at
        .as_deref()
        .and_then(crate::ingest::parse_time)
        .unwrap_or(now_ms);
    let paths = serde_json::to_string(&report.attack_paths).map_err(json_error)?;
    tx.execute(
        "DELETE FROM findings WHERE cluster_id = ?1",
        params![cluster],
    )
    .map_err(error)?;
    tx.execute(
        "INSERT INTO posture_scans (cluster_id, scanned, complete, findings, attack_paths) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            cluster,
            scanned,
            report.complete(),
            report.findings.len() as i64,
            paths
        ],
    )
    .map_err(error)?;
    let scan = tx.last_insert_rowid();
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO findings (cluster_id, scan_id, finding_id, check_id, severity, title, \
             kind, namespace, name, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(error)?;
    for f in &report.findings {
        let body = serde_json::to_string(f).map_err(json_error)?;
        insert
            .execute(params![
                cluster,
                scan,
                f.id,
                f.check_id,
                rank(f.severity),
                f.title,
                f.resource.kind,
                f.resource.namespace,
                f.resource.name,
                body
            ])
            .map_err(error)?;
    }
    Ok(report.findings.len() as u64)
}

fn severity_counts(
    conn: &Connection,
    sql: &str,
    args: &[Value],
) -> Result<SeverityCounts, StoreError> {
    let mut counts = SeverityCounts::default();
    let mut stmt = conn.prepare_cached(sql).map_err(error)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(error)?;
    for row in rows {
        let (sev, n) = row.map_err(error)?;
        counts.add(severity_of(sev), count(n));
    }
    Ok(counts)
}

impl Store for SqliteStore {
    fn add_token(&self, name: &str, role: &Role, digest: &[u8; 32]) -> Result<(), StoreError> {
        let now = crate::ingest::now_ms();
        self.write(|conn| {
            let tx = conn.transaction().map_err(error)?;
            let cluster = match role {
                Role::Admin => None,
                Role::Cluster(c) => Some(cluster_id(&tx, c, now)?),
            };
            tx.execute(
                "INSERT INTO tokens (name, digest, role, cluster_id, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, &digest[..], role.kind(), cluster, now],
            )
            .map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::ConstraintViolation) => {
                    StoreError::Invalid(format!("a token named {name:?} exists already"))
                }
                _ => error(e),
            })?;
            tx.commit().map_err(error)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT t.name, t.role, c.name, t.created FROM tokens t \
                     LEFT JOIN clusters c ON c.id = t.cluster_id ORDER BY t.name",
                )
                .map_err(error)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(TokenRow {
                        name: r.get(0)?,
                        role: r.get(1)?,
                        cluster: r.get(2)?,
                        created: rfc3339(r.get(3)?),
                    })
                })
                .map_err(error)?;
            rows.collect::<rusqlite::Result<_>>().map_err(error)
        })
    }

    fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            conn.execute("DELETE FROM tokens WHERE name = ?1", [name])
                .map(|n| n > 0)
                .map_err(error)
        })
    }

    fn principal(&self, digest: &[u8; 32]) -> Result<Option<Principal>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT t.name, t.role, c.name FROM tokens t \
                 LEFT JOIN clusters c ON c.id = t.cluster_id WHERE t.digest = ?1",
            )
            .and_then(|mut s| {
                s.query_row([&digest[..]], |r| {
                    let name: String = r.get(0)?;
                    let role: String = r.get(1)?;
                    let cluster: Option<String> = r.get(2)?;
                    Ok((name, role, cluster))
                })
                .optional()
            })
            .map_err(error)
            .map(|found| {
                found.and_then(|(name, role, cluster)| {
                    let role = match (role.as_str(), cluster) {
                        ("admin", _) => Role::Admin,
                        ("cluster", Some(c)) => Role::Cluster(c),
                        _ => return None,
                    };
                    Some(Principal { name, role })
                })
            })
        })
    }

    fn ingest(
        &self,
        cluster: &str,
        batch: &Batch,
        windows: Windows,
        received_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.write(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(error)?;
            let cluster_id = cluster_id(&tx, cluster, received_ms)?;
            let mut done = Ingested::default();
            if let Some(id) = &batch.id {
                let fresh = tx
                    .prepare_cached(
                        "INSERT INTO batches (cluster_id, batch_id, received) VALUES (?1, ?2, ?3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![cluster_id, id, received_ms]))
                    .map_err(error)?;
                if fresh == 0 {
                    done.duplicate = true;
                    return Ok(done);
                }
            }
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO events (cluster_id, time, source, kind, node, namespace, pod, \
                         container, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .map_err(error)?;
                for e in &batch.events {
                    let p = &e.place;
                    insert
                        .execute(params![
                            cluster_id,
                            e.time_ms,
                            e.source,
                            e.kind,
                            p.node,
                            p.namespace,
                            p.pod,
                            p.container,
                            e.body
                        ])
                        .map_err(error)?;
                }
            }
            done.events = batch.events.len() as u64;
            for a in &batch.alerts {
                if store_alert(&tx, cluster_id, a, windows)? {
                    done.deduplicated += 1;
                }
            }
            done.alerts = batch.alerts.len() as u64;
            for image in &batch.images {
                store_image(&tx, cluster_id, image, received_ms)?;
            }
            done.images = batch.images.len() as u64;
            if let Some(report) = &batch.posture {
                done.findings = store_posture(&tx, cluster_id, report, received_ms)?;
            }
            tx.execute(
                "UPDATE clusters SET last_seen = ?2, events = events + ?3 WHERE id = ?1",
                params![cluster_id, received_ms, done.events as i64],
            )
            .map_err(error)?;
            tx.commit().map_err(error)?;
            Ok(done)
        })
    }

    fn overview(&self, now_ms: i64) -> Result<Overview, StoreError> {
        const HOUR: i64 = 3600 * 1000;
        self.read(|conn| {
            let scalar = |sql: &str, args: &[Value]| -> Result<u64, StoreError> {
                conn.query_row(sql, rusqlite::params_from_iter(args), |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .map(|n| count(n.unwrap_or(0)))
                .map_err(error)
            };
            let first_hour = (now_ms / HOUR - 23) * HOUR;
            let mut hours: Vec<Bucket> = (0..24)
                .map(|i| Bucket {
                    start: rfc3339(first_hour + i * HOUR),
                    count: 0,
                })
                .collect();
            {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT (last_seen - ?1) / ?2, SUM(count) FROM alerts \
                         WHERE last_seen >= ?1 GROUP BY 1",
                    )
                    .map_err(error)?;
                let rows = stmt
                    .query_map(params![first_hour, HOUR], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })
                    .map_err(error)?;
                for row in rows {
                    let (i, n) = row.map_err(error)?;
                    if let Some(b) = usize::try_from(i).ok().and_then(|i| hours.get_mut(i)) {
                        b.count = count(n);
                    }
                }
            }
            Ok(Overview {
                clusters: scalar("SELECT COUNT(*) FROM clusters", &[])?,
                events: scalar("SELECT SUM(events) FROM clusters", &[])?,
                alerts: severity_counts(
                    conn,
                    "SELECT severity, COUNT(*) FROM alerts GROUP BY severity",
                    &[],
                )?,
                active_incidents: scalar(
                    "SELECT COUNT(*) FROM incidents WHERE last_seen >= ?1",
                    &[Value::Integer(now_ms - 24 * HOUR)],
                )?,
                images: scalar("SELECT COUNT(*) FROM images", &[])?,
                vulnerabilities: severity_counts(
                    conn,
                    "SELECT severity, COUNT(*) FROM vulnerabilities GROUP BY severity",
                    &[],
                )?,
                findings: severity_counts(
                    conn,
                    "SELECT severity, COUNT(*) FROM findings GROUP BY severity",
                    &[],
                )?,
                alerts_over_time: hours,
            })
        })
    }

    fn clusters(&self) -> Result<Vec<ClusterRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT c.name, c.created, c.last_seen, c.events, \
                     (SELECT COUNT(*) FROM alerts a WHERE a.cluster_id = c.id), \
                     (SELECT COUNT(*) FROM images i WHERE i.cluster_id = c.id), \
                     (SELECT COUNT(*) FROM findings f WHERE f.cluster_id = c.id) \
                     FROM clusters c ORDER BY c.name",
                )
                .map_err(error)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(ClusterRow {
                        name: r.get(0)?,
                        created: rfc3339(r.get(1)?),
                        last_seen: r.get::<_, Option<i64>>(2)?.map(rfc3339),
                        events: count(r.get(3)?),
                        alerts: count(r.get(4)?),
                        images: count(r.get(5)?),
                        findings: count(r.get(6)?),
                    })
                })
                .map_err(error)?;
            rows.collect::<rusqlite::Result<_>>().map_err(error)
        })
    }

    fn alerts(&self, q: &ListQuery) -> Result<Page<AlertRow>, StoreError> {
        let mut w = Where::common(q, "last_seen")?;
        w.search(
            q,
            &[
                "rule",
                "rule_id",
                "output",
                "pod",
                "namespace",
                "node",
                "container",
                "user",
            ],
        );
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.rule_id = ?", [Value::Text(k.to_string())]);
        }
        self.read(|conn| {
            let from = "alerts t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(conn, "alerts t", &w)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ALERT_COLUMNS} FROM {from} {} ORDER BY t.last_seen DESC, t.id DESC \
                     LIMIT ? OFFSET ?",
                    w.sql()
                ))
                .map_err(error)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(w.with_page(q)), alert_row)
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Page { total, items })
        })
    }

    fn alert(&self, id: i64) -> Result<Option<AlertDetail>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {ALERT_COLUMNS}, t.body FROM alerts t \
                     JOIN clusters c ON c.id = t.cluster_id WHERE t.id = ?1"
                ),
                [id],
                |r| {
                    Ok(AlertDetail {
                        row: alert_row(r)?,
                        alert: json_column(r.get(18)?),
                    })
                },
            )
            .optional()
            .map_err(error)
        })
    }

    fn incidents(&self, q: &ListQuery) -> Result<Page<IncidentRow>, StoreError> {
        let mut w = Where::common(q, "last_seen")?;
        w.search(q, &["subject", "title"]);
        self.read(|conn| {
            let from = "incidents t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(conn, "incidents t", &w)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM {from} {} \
                     ORDER BY t.last_seen DESC, t.id DESC LIMIT ? OFFSET ?",
                    w.sql()
                ))
                .map_err(error)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(w.with_page(q)), incident_row)
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Page { total, items })
        })
    }

    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
        self.read(|conn| {
            let Some(row) = conn
                .query_row(
                    &format!(
                        "SELECT {INCIDENT_COLUMNS} FROM incidents t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id = ?1"
                    ),
                    [id],
                    incident_row,
                )
                .optional()
                .map_err(error)?
            else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts t JOIN clusters c ON c.id = t.cluster_id \
                     WHERE t.incident_id = ?1 ORDER BY t.first_seen, t.id LIMIT 1000"
                ))
                .map_err(error)?;
            let timeline = stmt
                .query_map([id], alert_row)
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Some(IncidentDetail { row, timeline }))
        })
    }

    fn events(&self, q: &ListQuery) -> Result<Page<EventRow>, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        if let Some(since) = q.since_ms()? {
            w.add("t.time >= ?", [Value::Integer(since)]);
        }
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.kind = ?", [Value::Text(k.to_string())]);
        }
        w.place(q);
        self.read(|conn| {
            let from = "events t JOIN clusters c ON c.id = t.cluster_id";
            // Counting millions of raw events for every page is the slow part of a page;
            // an unfiltered listing takes the kept count instead.
            let total = if w.clauses.is_empty() {
                conn.query_row("SELECT COALESCE(SUM(events), 0) FROM clusters", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(count)
                .map_err(error)?
            } else {
                total(conn, "events t", &w)?
            };
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT t.id, c.name, t.time, t.source, t.kind, t.node, t.namespace, t.pod, \
                     t.container, t.body FROM {from} {} ORDER BY t.time DESC, t.id DESC \
                     LIMIT ? OFFSET ?",
                    w.sql()
                ))
                .map_err(error)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(w.with_page(q)), |r| {
                    Ok(EventRow {
                        id: r.get(0)?,
                        cluster: r.get(1)?,
                        time: rfc3339(r.get(2)?),
                        source: r.get(3)?,
                        kind: r.get(4)?,
                        node: r.get(5)?,
                        namespace: r.get(6)?,
                        pod: r.get(7)?,
                        container: r.get(8)?,
                        event: json_column(r.get(9)?),
                    })
                })
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Page { total, items })
        })
    }

    fn images(&self, q: &ListQuery) -> Result<Page<ImageRow>, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        w.search(q, &["name", "reference", "digest"]);
        self.read(|conn| {
            let from = "images t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(conn, "images t", &w)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {IMAGE_COLUMNS} FROM {from} {} ORDER BY t.critical DESC, t.high DESC, \
                     t.medium DESC, t.name LIMIT ? OFFSET ?",
                    w.sql()
                ))
                .map_err(error)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(w.with_page(q)), image_row)
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Page { total, items })
        })
    }

    fn image(&self, id: i64) -> Result<Option<ImageDetail>, StoreError> {
        self.read(|conn| {
            let Some(row) = conn
                .query_row(
                    &format!(
                        "SELECT {IMAGE_COLUMNS} FROM images t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id = ?1"
                    ),
                    [id],
                    image_row,
                )
                .optional()
                .map_err(error)?
            else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT vuln_id, package, version, fixed, severity, status, title \
                     FROM vulnerabilities WHERE image_id = ?1 \
                     ORDER BY severity DESC, package, vuln_id",
                )
                .map_err(error)?;
            let list = stmt
                .query_map([id], |r| {
                    Ok(VulnRow {
                        id: r.get(0)?,
                        package: r.get(1)?,
                        version: r.get(2)?,
                        fixed: r.get(3)?,
                        severity: severity_of(r.get(4)?),
                        status: r.get(5)?,
                        title: r.get(6)?,
                    })
                })
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Some(ImageDetail {
                row,
                vulnerabilities_list: list,
            }))
        })
    }

    fn findings(&self, q: &ListQuery) -> Result<Page<FindingRow>, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        if let Some(s) = q.min_severity()? {
            w.add("t.severity >= ?", [Value::Integer(rank(s))]);
        }
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.check_id = ?", [Value::Text(k.to_string())]);
        }
        w.search(q, &["title", "check_id", "name", "namespace", "kind"]);
        self.read(|conn| {
            let from = "findings t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(conn, "findings t", &w)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT t.id, c.name, t.finding_id, t.check_id, t.severity, t.title, t.kind, \
                     t.namespace, t.name, t.body FROM {from} {} \
                     ORDER BY t.severity DESC, t.check_id, t.namespace, t.name LIMIT ? OFFSET ?",
                    w.sql()
                ))
                .map_err(error)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(w.with_page(q)), |r| {
                    Ok(FindingRow {
                        id: r.get(0)?,
                        cluster: r.get(1)?,
                        finding_id: r.get(2)?,
                        check_id: r.get(3)?,
                        severity: severity_of(r.get(4)?),
                        title: r.get(5)?,
                        kind: r.get(6)?,
                        namespace: r.get(7)?,
                        name: r.get(8)?,
                        finding: json_column(r.get(9)?),
                    })
                })
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?;
            Ok(Page { total, items })
        })
    }

    fn posture(&self, q: &ListQuery) -> Result<Vec<PostureRow>, StoreError> {
        let mut w = Where::default();
        w.add(
            "t.id = (SELECT MAX(s.id) FROM posture_scans s WHERE s.cluster_id = t.cluster_id)",
            [],
        );
        w.cluster(q);
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT c.name, t.scanned, t.complete, t.findings, t.attack_paths \
                     FROM posture_scans t JOIN clusters c ON c.id = t.cluster_id {} ORDER BY c.name",
                    w.sql()
                ))
                .map_err(error)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(&w.params), |r| {
                    Ok(PostureRow {
                        cluster: r.get(0)?,
                        scanned: rfc3339(r.get(1)?),
                        complete: r.get(2)?,
                        findings: count(r.get(3)?),
                        attack_paths: json_column(r.get(4)?),
                    })
                })
                .map_err(error)?;
            rows.collect::<rusqlite::Result<_>>().map_err(error)
        })
    }

    fn image_reports(
        &self,
        cluster: Option<&str>,
        not_matched_against: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VulnReport)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT c.name, t.report FROM images t JOIN clusters c ON c.id = t.cluster_id \
                     WHERE (?1 IS NULL OR c.name = ?1) \
                     AND (?2 IS NULL OR t.db_updated IS NULL OR t.db_updated != ?2) \
                     ORDER BY t.id LIMIT ?3",
                )
                .map_err(error)?;
            let rows = stmt
                .query_map(params![cluster, not_matched_against, limit as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(error)?;
            let mut out = Vec::new();
            for row in rows {
                let (cluster, text) = row.map_err(error)?;
                match serde_json::from_str(&text) {
                    Ok(report) => out.push((cluster, report)),
                    Err(e) => tracing::warn!("a stored image report does not read back: {e}"),
                }
            }
            Ok(out)
        })
    }

    fn export_pending(&self, sink: &str, limit: usize) -> Result<Vec<AlertDetail>, StoreError> {
        let cursor = self.write(|conn| {
            // A sink met for the first time starts after the newest alert: turning an
            // export on does not replay months of history into a SIEM.
            conn.execute(
                "INSERT INTO export_cursors (sink, last_alert_id) \
                 VALUES (?1, (SELECT COALESCE(MAX(id), 0) FROM alerts)) ON CONFLICT DO NOTHING",
                [sink],
            )
            .map_err(error)?;
            conn.query_row(
                "SELECT last_alert_id FROM export_cursors WHERE sink = ?1",
                [sink],
                |r| r.get::<_, i64>(0),
            )
            .map_err(error)
        })?;
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ALERT_COLUMNS}, t.body FROM alerts t \
                     JOIN clusters c ON c.id = t.cluster_id WHERE t.id > ?1 ORDER BY t.id LIMIT ?2"
                ))
                .map_err(error)?;
            let rows = stmt
                .query_map(params![cursor, limit as i64], |r| {
                    Ok(AlertDetail {
                        row: alert_row(r)?,
                        alert: json_column(r.get(18)?),
                    })
                })
                .map_err(error)?;
            rows.collect::<rusqlite::Result<_>>().map_err(error)
        })
    }

    fn export_delivered(&self, sink: &str, alert_id: i64) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute(
                "UPDATE export_cursors SET last_alert_id = max(last_alert_id, ?2) WHERE sink = ?1",
                params![sink, alert_id],
            )
            .map(|_| ())
            .map_err(error)
        })
    }

    fn prune(&self, retention: &Retention, now_ms: i64) -> Result<Pruned, StoreError> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(error)?;
            let events_before = now_ms - retention.events_ms;
            // Keep the per-cluster event counts true as events go.
            tx.execute(
                "UPDATE clusters SET events = events - \
                 (SELECT COUNT(*) FROM events e WHERE e.cluster_id = clusters.id AND e.time < ?1)",
                [events_before],
            )
            .map_err(error)?;
            let events = tx
                .execute("DELETE FROM events WHERE time < ?1", [events_before])
                .map_err(error)?;
            let alerts_before = now_ms - retention.alerts_ms;
            let alerts = tx
                .execute("DELETE FROM alerts WHERE last_seen < ?1", [alerts_before])
                .map_err(error)?;
            let incidents = tx
                .execute(
                    "DELETE FROM incidents WHERE last_seen < ?1",
                    [alerts_before],
                )
                .map_err(error)?;
            let scans = tx
                .execute(
                    "DELETE FROM posture_scans WHERE scanned < ?1 AND id NOT IN \
                     (SELECT MAX(id) FROM posture_scans GROUP BY cluster_id)",
                    [now_ms - retention.scans_ms],
                )
                .map_err(error)?;
            // Retries come within minutes; a day of batch ids is plenty.
            tx.execute(
                "DELETE FROM batches WHERE received < ?1",
                [now_ms - 24 * 3600 * 1000],
            )
            .map_err(error)?;
            tx.commit().map_err(error)?;
            Ok(Pruned {
                events: events as u64,
                alerts: alerts as u64,
                incidents: incidents as u64,
                scans: scans as u64,
            })
        })
    }
}
