//! PostgreSQL: one database shared by several `vigil server` replicas, none of them a
//! leader.
//!
//! Every replica ingests on its own; what keeps them consistent is in the database:
//! batch ids are a primary key (a retry that reaches another replica stores nothing),
//! the schema is migrated under an advisory lock (replicas starting together migrate
//! once), and the correlation of one cluster's alerts runs under a per-cluster advisory
//! transaction lock (see [`lock_cluster`] for why that and not `SELECT … FOR UPDATE`).
//!
//! The client is the `postgres` crate (synchronous; the API calls the store on tokio's
//! blocking pool). Connections are pooled in a plain `Mutex<Vec<_>>`, bounded in number;
//! one that fails at the connection level is dropped, and the next call makes a new one,
//! so a database restart costs the calls made while it was down (503) and nothing after.
//!
//! TLS: rustls (aws-lc-rs) with the system's root certificates, as `sslmode` in the URL
//! asks: `prefer` (the default) uses TLS when the server offers it, `require` insists,
//! `disable` never tries. rustls always verifies the server's certificate and name, so
//! `require` behaves like libpq's `verify-full`. Unix sockets (`host=/run/postgresql`)
//! never use TLS.

use super::*;
use crate::auth::{Principal, Role};
use crate::correlate::{self, Windows};
use crate::ingest::{AlertRecord, Batch};
use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::error::SqlState;
use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, Config, Row, Transaction};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres_rustls::MakeRustlsConnect;
use vigil_core::{PostureReport, VulnReport, VulnStatus};

/// The schema migrations, in order; `schema_migrations` records those that ran.
const MIGRATIONS: &[&str] = &[
    include_str!("postgres_schema.sql"),
    include_str!("postgres_schema_2_exports.sql"),
    include_str!("postgres_schema_3_event_indexes.sql"),
    include_str!("postgres_schema_4_image_db_stamp.sql"),
];

/// The advisory lock key class of Vigil's locks (two-int4 form: `'vigl'`), so they do
/// not meet the single-bigint keys other programs on the same database may use.
const LOCK_CLASS: i32 = 0x7669_676c;
/// The key (in [`LOCK_CLASS`]) held while migrating.
const MIGRATION_LOCK: i32 = 0;

/// Idle connections kept between calls.
const IDLE: usize = 16;
/// Connections open at once, busy or idle: past it a call waits for one (up to the
/// store's wait) rather than making the database refuse connections to everyone.
const MAX_OPEN: usize = 32;
/// A batch that meets a deadlock or a serialization failure is tried this many times.
const ATTEMPTS: usize = 4;

/// The PostgreSQL store.
pub struct PgStore {
    config: Config,
    tls: MakeRustlsConnect,
    /// How long a call waits for a connection, or a statement for a lock, before the
    /// store reports itself unavailable.
    wait: Duration,
    pool: Mutex<Pool>,
    freed: Condvar,
    /// Cluster ids by name: clusters are never deleted, so an id once read stays true.
    clusters: Mutex<HashMap<String, i64>>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Client>,
    open: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                ::postgres::config::Host::Tcp(h) => h.clone(),
                ::postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        write!(
            f,
            "PgStore({} db {})",
            hosts.join(","),
            self.config.get_dbname().unwrap_or("-")
        )
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Each client owns a small tokio runtime, which must not be dropped (nor the
        // client closed) from inside another runtime's async context: the last owner of
        // the store may be a task of the server's runtime. Closing them on a thread of
        // their own is safe everywhere.
        let idle = match self.pool.get_mut() {
            Ok(pool) => std::mem::take(&mut pool.idle),
            Err(_) => return,
        };
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The store's error for a database error: connection-level failures and lock waits
/// are `Unavailable` (the API answers 503 and clients retry), the rest `Other`.
fn error(e: ::postgres::Error) -> StoreError {
    error_of(&e)
}

fn error_of(e: &::postgres::Error) -> StoreError {
    if unavailable(e) {
        StoreError::Unavailable(describe(e))
    } else {
        StoreError::Other(describe(e))
    }
}

/// The error with the server's message, which the crate's `Display` leaves out.
fn describe(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", e, db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Whether `e` says the database cannot be used now (rather than that a statement is
/// wrong): the connection failed or closed, the server is shutting down or starting, it
/// has too many connections, or a lock was not had within the wait.
fn unavailable(e: &::postgres::Error) -> bool {
    if let Some(code) = e.code() {
        let class = code.code().get(..2).unwrap_or_default();
        return class == "08" // connection exception
            || class == "57" // operator intervention: admin/crash shutdown, cannot connect now
            || class == "53" // insufficient resources: too many connections, disk full
            || *code == SqlState::LOCK_NOT_AVAILABLE;
    }
    if e.is_closed() {
        return true;
    }
    // Connect, I/O, TLS and timeout errors carry no SQL state; what they share is a
    // cause that is an I/O error, or the crate's own words.
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    let text = e.to_string();
    text.starts_with("error connecting")
        || text.starts_with("timeout")
        || text.starts_with("error communicating")
        || text.starts_with("error performing TLS")
}

/// Whether a transaction that failed with `e` would succeed if run again: a deadlock or
/// a serialization failure. The helpers keep only the error's text, which [`describe`]
/// ends with the SQL state, so that is read too.
fn retryable(e: &StoreError, code: Option<&SqlState>) -> bool {
    let StoreError::Other(message) = e else {
        return false;
    };
    let again = [
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_SERIALIZATION_FAILURE,
    ];
    again
        .iter()
        .any(|c| code == Some(c) || message.ends_with(&format!("({})", c.code())))
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("encoding JSON: {e}"))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn tls() -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    // A missing or unreadable system store only matters to a TLS connection; such a
    // connection then fails with the certificate error, which says more.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StoreError::Other(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db?…`) and
    /// brings its schema up to date. `wait` bounds how long a call waits for a
    /// connection and a statement for a lock before the store reports itself
    /// unavailable.
    pub fn open(url: &str, wait: Duration) -> Result<PgStore, StoreError> {
        let mut config: Config = url.parse().map_err(|e: ::postgres::Error| {
            StoreError::Invalid(format!("the database URL: {}", describe(&e)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(wait.max(Duration::from_secs(1)));
        }
        if config.get_application_name().is_none() {
            config.application_name("vigil-server");
        }
        let store = PgStore {
            config,
            tls: tls()?,
            wait,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            clusters: Mutex::new(HashMap::new()),
        };
        store.with(migrate)?;
        Ok(store)
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(self.tls.clone()).map_err(error)?;
        // Lock waits end as 55P03 (503) rather than holding a request for ever.
        let ms = self.wait.as_millis().max(1);
        client
            .batch_execute(&format!("SET lock_timeout = {ms}"))
            .map_err(error)?;
        Ok(client)
    }

    /// A connection from the pool, or a new one; waits while [`MAX_OPEN`] are busy.
    fn take(&self) -> Result<Client, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut pool = self
            .pool
            .lock()
            .map_err(|_| StoreError::Other("the pool is poisoned".into()))?;
        loop {
            if let Some(client) = pool.idle.pop() {
                if client.is_closed() {
                    pool.open = pool.open.saturating_sub(1);
                    continue;
                }
                return Ok(client);
            }
            if pool.open < MAX_OPEN {
                pool.open += 1;
                drop(pool);
                return self.connect().inspect_err(|_| self.forget());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {MAX_OPEN} database connections stayed busy for {:?}",
                    self.wait
                )));
            }
            pool = self
                .freed
                .wait_timeout(pool, left)
                .map_err(|_| StoreError::Other("the pool is poisoned".into()))?
                .0;
        }
    }

    /// Counts one connection fewer (it failed or was dropped).
    fn forget(&self) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.open = pool.open.saturating_sub(1);
        }
        self.freed.notify_one();
    }

    /// Runs `f` on a pooled connection. A connection that failed (closed, or any
    /// `Unavailable` error: it may be half-broken) is dropped; the next call connects
    /// anew.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.take()?;
        let result = f(&mut client);
        let broken = client.is_closed() || matches!(result, Err(StoreError::Unavailable(_)));
        if broken {
            drop(client);
            // The idle ones most likely share its fate (a restart, a failover) but
            // cannot know it until used, since a synchronous client reads its socket
            // only during a call: drop them too rather than fail one call per
            // connection once the database is back.
            let stale = match self.pool.lock() {
                Ok(mut pool) => {
                    let stale = std::mem::take(&mut pool.idle);
                    pool.open = pool.open.saturating_sub(stale.len() + 1);
                    stale
                }
                Err(_) => Vec::new(),
            };
            drop(stale);
            self.freed.notify_all();
        } else {
            if let Ok(mut pool) = self.pool.lock() {
                if pool.idle.len() < IDLE {
                    pool.idle.push(client);
                } else {
                    pool.open = pool.open.saturating_sub(1);
                }
            }
            self.freed.notify_one();
        }
        result
    }

    /// The cluster's id, registering it when new.
    fn cluster_id(
        &self,
        tx: &mut Transaction<'_>,
        name: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        if let Some(id) = self.clusters.lock().ok().and_then(|c| c.get(name).copied()) {
            return Ok(id);
        }
        let id = cluster_id(tx, name, now_ms)?;
        if let Ok(mut c) = self.clusters.lock() {
            c.insert(name.to_string(), id);
        }
        Ok(id)
    }
}

/// The cluster's id, registering it when new. Another replica registering it at the
/// same moment makes the insert wait for its commit and then do nothing; the select that
/// follows (a new snapshot under READ COMMITTED) sees its row.
fn cluster_id(tx: &mut Transaction<'_>, name: &str, now_ms: i64) -> Result<i64, StoreError> {
    if let Some(row) = tx
        .query_opt("SELECT id FROM clusters WHERE name = $1", &[&name])
        .map_err(error)?
    {
        return row.try_get(0).map_err(error);
    }
    tx.execute(
        "INSERT INTO clusters (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &now_ms],
    )
    .map_err(error)?;
    tx.query_one("SELECT id FROM clusters WHERE name = $1", &[&name])
        .and_then(|r| r.try_get(0))
        .map_err(error)
}

/// Runs the migrations the database has not seen, each in its own transaction, under a
/// session advisory lock: replicas starting together wait for the first, then find
/// nothing left to do.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &MIGRATION_LOCK],
        )
        .map_err(error)?;
    let result = migrate_locked(client);
    let unlocked = client
        .execute(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&LOCK_CLASS, &MIGRATION_LOCK],
        )
        .map_err(error);
    result.and(unlocked.map(|_| ()))
}

fn migrate_locked(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY,
                 applied BIGINT NOT NULL
             )",
        )
        .map_err(error)?;
    let done: i32 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
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
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let mut tx = client.transaction().map_err(error)?;
        tx.batch_execute(sql).map_err(error)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)",
            &[&version, &crate::ingest::now_ms()],
        )
        .map_err(error)?;
        tx.commit().map_err(error)?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(())
}

/// Serializes the correlation of one cluster's alerts (and its image and posture
/// replacements) across replicas, until the transaction ends.
///
/// Why an advisory lock and not `SELECT … FOR UPDATE`: the race to close is two
/// replicas each looking for a recent alert with a dedup key (or an open incident on a
/// subject), each finding none, and each inserting one: two rows for one key. `FOR
/// UPDATE` locks rows that exist and cannot lock the absence of one; SERIALIZABLE would
/// catch it but fail whole batches (events included) for the client to send again. One
/// lock per cluster, taken after the batch's raw events are in (those need no order),
/// makes the look-then-insert atomic, costs one round trip, and keeps different
/// clusters — and event-only batches of the same cluster — ingesting in parallel.
/// Cluster ids beyond `i32` share keys (`%`), which only serializes more.
fn lock_cluster(tx: &mut Transaction<'_>, cluster: i64) -> Result<(), StoreError> {
    let key = i32::try_from(cluster.rem_euclid(i64::from(i32::MAX))).unwrap_or(0);
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key])
        .map_err(error)?;
    Ok(())
}

/// Stores the batch's raw events with one binary `COPY`: the bulk of every batch, and
/// several times faster than row-by-row inserts.
fn copy_events(tx: &mut Transaction<'_>, cluster: i64, batch: &Batch) -> Result<(), StoreError> {
    if batch.events.is_empty() {
        return Ok(());
    }
    let writer = tx
        .copy_in(
            "COPY events (cluster_id, time, source, kind, node, namespace, pod, container, \
             body) FROM STDIN BINARY",
        )
        .map_err(error)?;
    let mut writer = BinaryCopyInWriter::new(
        writer,
        &[
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
    );
    for e in &batch.events {
        let p = &e.place;
        let source: &str = e.source;
        writer
            .write(&[
                &cluster,
                &e.time_ms,
                &source,
                &e.kind,
                &p.node,
                &p.namespace,
                &p.pod,
                &p.container,
                &e.body,
            ])
            .map_err(error)?;
    }
    writer.finish().map_err(error)?;
    Ok(())
}

/// Folds `a` into a recent alert with the same key, or stores it and files it under an
/// incident. Returns true when it was folded. The caller holds [`lock_cluster`].
fn store_alert(
    tx: &mut Transaction<'_>,
    cluster: i64,
    a: &AlertRecord,
    windows: Windows,
) -> Result<bool, StoreError> {
    let key = correlate::dedup_key(a);
    let sev = rank(a.alert.severity);
    let since = a.time_ms - windows.dedup_ms;
    let folded = tx
        .query_opt(
            "SELECT id, incident_id FROM alerts WHERE cluster_id = $1 AND dedup_key = $2 \
             AND last_seen >= $3 ORDER BY last_seen DESC LIMIT 1",
            &[&cluster, &key, &since],
        )
        .map_err(error)?;
    if let Some(row) = folded {
        let id: i64 = row.try_get(0).map_err(error)?;
        let incident: Option<i64> = row.try_get(1).map_err(error)?;
        tx.execute(
            "UPDATE alerts SET count = count + 1, last_seen = GREATEST(last_seen, $2), \
             first_seen = LEAST(first_seen, $2) WHERE id = $1",
            &[&id, &a.time_ms],
        )
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
    tx.execute(
        "INSERT INTO alerts (cluster_id, rule_id, rule, severity, dedup_key, count, first_seen, \
         last_seen, node, namespace, pod, container, image, \"user\", output, mitre_tactic, \
         mitre_technique, incident_id, body) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        &[
            &cluster,
            &a.alert.rule_id,
            &a.alert.rule,
            &sev,
            &key,
            &a.time_ms,
            &p.node,
            &p.namespace,
            &p.pod,
            &p.container,
            &p.image,
            &p.user,
            &a.alert.output,
            &a.alert.mitre_tactic,
            &a.alert.mitre_technique,
            &incident,
            &body,
        ],
    )
    .map_err(error)?;
    Ok(false)
}

/// Counts `a` in an incident, raising its severity and title when `a` is worse.
fn touch_incident(
    tx: &mut Transaction<'_>,
    incident: i64,
    a: &AlertRecord,
    sev: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE incidents SET alert_count = alert_count + 1, \
         last_seen = GREATEST(last_seen, $2), first_seen = LEAST(first_seen, $2), \
         title = CASE WHEN $3 > severity THEN $4 ELSE title END, \
         severity = GREATEST(severity, $3) WHERE id = $1",
        &[&incident, &a.time_ms, &sev, &a.alert.rule],
    )
    .map_err(error)?;
    Ok(())
}

/// The open incident about `subject`, or a new one.
fn file_incident(
    tx: &mut Transaction<'_>,
    cluster: i64,
    subject: &str,
    a: &AlertRecord,
    sev: i64,
    windows: Windows,
) -> Result<i64, StoreError> {
    let since = a.time_ms - windows.incident_ms;
    let open = tx
        .query_opt(
            "SELECT id FROM incidents WHERE cluster_id = $1 AND subject = $2 \
             AND last_seen >= $3 ORDER BY last_seen DESC LIMIT 1",
            &[&cluster, &subject, &since],
        )
        .map_err(error)?;
    if let Some(row) = open {
        let id: i64 = row.try_get(0).map_err(error)?;
        touch_incident(tx, id, a, sev)?;
        return Ok(id);
    }
    tx.query_one(
        "INSERT INTO incidents (cluster_id, subject, title, severity, alert_count, first_seen, \
         last_seen) VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        &[&cluster, &subject, &a.alert.rule, &sev, &a.time_ms],
    )
    .and_then(|r| r.try_get(0))
    .map_err(error)
}

fn store_image(
    tx: &mut Transaction<'_>,
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
        "DELETE FROM images WHERE cluster_id = $1 AND reference = $2",
        &[&cluster, &inv.target.reference],
    )
    .map_err(error)?;
    let image: i64 = tx
        .query_one(
            "INSERT INTO images (cluster_id, name, reference, digest, os, scanned, packages, \
             critical, high, medium, low, other, report, db_updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            &[
                &cluster,
                &inv.target.name,
                &inv.target.reference,
                &inv.manifest_digest,
                &os,
                &now_ms,
                &(inv.packages.len() as i64),
                &int(counts.critical),
                &int(counts.high),
                &int(counts.medium),
                &int(counts.low),
                &int(counts.other),
                &body,
                &report.database.version(),
            ],
        )
        .and_then(|r| r.try_get(0))
        .map_err(error)?;
    let insert = tx
        .prepare(
            "INSERT INTO vulnerabilities (image_id, vuln_id, package, version, fixed, severity, \
             status, title) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .map_err(error)?;
    for m in actionable {
        tx.execute(
            &insert,
            &[
                &image,
                &m.id,
                &m.package.name,
                &m.package.version,
                &m.fixed_versions.join(", "),
                &rank(m.severity),
                &status_name(m.status),
                &m.title,
            ],
        )
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
    tx: &mut Transaction<'_>,
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
    tx.execute("DELETE FROM findings WHERE cluster_id = $1", &[&cluster])
        .map_err(error)?;
    let scan: i64 = tx
        .query_one(
            "INSERT INTO posture_scans (cluster_id, scanned, complete, findings, attack_paths) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &cluster,
                &scanned,
                &report.complete(),
                &(report.findings.len() as i64),
                &paths,
            ],
        )
        .and_then(|r| r.try_get(0))
        .map_err(error)?;
    let insert = tx
        .prepare(
            "INSERT INTO findings (cluster_id, scan_id, finding_id, check_id, severity, title, \
             kind, namespace, name, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .map_err(error)?;
    for f in &report.findings {
        let body = serde_json::to_string(f).map_err(json_error)?;
        tx.execute(
            &insert,
            &[
                &cluster,
                &scan,
                &f.id,
                &f.check_id,
                &rank(f.severity),
                &f.title,
                &f.resource.kind,
                &f.resource.namespace,
                &f.resource.name,
                &body,
            ],
        )
        .map_err(error)?;
    }
    Ok(report.findings.len() as u64)
}

/// A query parameter of a filter.
enum Param {
    Int(i64),
    Text(String),
}

impl Param {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Int(n) => n,
            Param::Text(t) => t,
        }
    }
}

/// A WHERE clause built from the filters given, with its parameters. Clauses are written
/// with `?` for each parameter; [`Where::sql`] numbers them `$1`, `$2`…
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Where {
    fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Param>) {
        self.clauses.push(clause.to_string());
        self.params.extend(values);
    }

    /// The clause with its placeholders numbered.
    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            return String::new();
        }
        let joined = format!("WHERE {}", self.clauses.join(" AND "));
        let mut out = String::with_capacity(joined.len() + 8);
        let mut n = 0;
        for c in joined.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The placeholders of the page's LIMIT and OFFSET, after the filter's.
    fn page_sql(&self) -> String {
        let n = self.params.len();
        format!("LIMIT ${} OFFSET ${}", n + 1, n + 2)
    }

    fn args(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(Param::sql).collect()
    }

    /// Only the rows of `q.cluster`, matched by id so counting needs no join.
    fn cluster(&mut self, q: &ListQuery) {
        if let Some(c) = q.cluster.as_deref().filter(|c| !c.is_empty()) {
            self.add(
                "t.cluster_id = (SELECT id FROM clusters WHERE name = ?)",
                [Param::Text(c.to_string())],
            );
        }
    }

    /// `q` as a node or pod name, or the start of a container id: each answered by its
    /// column's index, as the SQLite store does.
    fn place(&mut self, q: &ListQuery) {
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            self.add(
                "(t.node = ? OR t.pod = ? OR (t.container >= ? AND t.container < ?))",
                [
                    Param::Text(text.to_string()),
                    Param::Text(text.to_string()),
                    Param::Text(text.to_string()),
                    Param::Text(format!("{text}\u{10FFFF}")),
                ],
            );
        }
    }

    fn common(q: &ListQuery, time: &str) -> Result<Where, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        if let Some(s) = q.min_severity()? {
            w.add("t.severity >= ?", [Param::Int(rank(s))]);
        }
        if let Some(since) = q.since_ms()? {
            w.add(&format!("t.{time} >= ?"), [Param::Int(since)]);
        }
        Ok(w)
    }

    /// `q` as a substring of any of `columns`, ignoring case as SQLite's LIKE does.
    fn search(&mut self, q: &ListQuery, columns: &[&str]) {
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", text.replace(['%', '_', '\\'], ""));
            let any: Vec<String> = columns.iter().map(|c| format!("t.{c} ILIKE ?")).collect();
            self.add(
                &format!("({})", any.join(" OR ")),
                columns.iter().map(|_| Param::Text(pattern.clone())),
            );
        }
    }
}

/// One page of `select` (columns, no WHERE) from `from`, filtered by `w`, in `order`.
fn page<T>(
    client: &mut Client,
    columns: &str,
    from: &str,
    w: &Where,
    order: &str,
    q: &ListQuery,
    row: impl Fn(&Row) -> Result<T, ::postgres::Error>,
) -> Result<Vec<T>, StoreError> {
    let (limit, offset) = (q.limit(), q.offset());
    let mut args = w.args();
    args.push(&limit);
    args.push(&offset);
    client
        .query(
            &format!(
                "SELECT {columns} FROM {from} {} ORDER BY {order} {}",
                w.sql(),
                w.page_sql()
            ),
            &args,
        )
        .map_err(error)?
        .iter()
        .map(|r| row(r).map_err(error))
        .collect()
}

fn total(client: &mut Client, from: &str, w: &Where) -> Result<u64, StoreError> {
    client
        .query_one(
            &format!("SELECT COUNT(*) FROM {from} {}", w.sql()),
            &w.args(),
        )
        .and_then(|r| r.try_get::<_, i64>(0))
        .map(count)
        .map_err(error)
}

const ALERT_COLUMNS: &str = "t.id, c.name, t.rule_id, t.rule, t.severity, t.count, t.first_seen, \
     t.last_seen, t.node, t.namespace, t.pod, t.container, t.image, t.\"user\", t.output, \
     t.mitre_tactic, t.mitre_technique, t.incident_id";

fn alert_row(r: &Row) -> Result<AlertRow, ::postgres::Error> {
    Ok(AlertRow {
        id: r.try_get(0)?,
        cluster: r.try_get(1)?,
        rule_id: r.try_get(2)?,
        rule: r.try_get(3)?,
        severity: severity_of(r.try_get(4)?),
        count: count(r.try_get(5)?),
        first_seen: rfc3339(r.try_get(6)?),
        last_seen: rfc3339(r.try_get(7)?),
        node: r.try_get(8)?,
        namespace: r.try_get(9)?,
        pod: r.try_get(10)?,
        container: r.try_get(11)?,
        image: r.try_get(12)?,
        user: r.try_get(13)?,
        output: r.try_get(14)?,
        mitre_tactic: r.try_get(15)?,
        mitre_technique: r.try_get(16)?,
        incident_id: r.try_get(17)?,
    })
}

const INCIDENT_COLUMNS: &str =
    "t.id, c.name, t.subject, t.title, t.severity, t.alert_count, t.first_seen, t.last_seen";

fn incident_row(r: &Row) -> Result<IncidentRow, ::postgres::Error> {
    Ok(IncidentRow {
        id: r.try_get(0)?,
        cluster: r.try_get(1)?,
        subject: r.try_get(2)?,
        title: r.try_get(3)?,
        severity: severity_of(r.try_get(4)?),
        alert_count: count(r.try_get(5)?),
        first_seen: rfc3339(r.try_get(6)?),
        last_seen: rfc3339(r.try_get(7)?),
    })
}

const IMAGE_COLUMNS: &str = "t.id, c.name, t.name, t.reference, t.digest, t.os, t.scanned, \
     t.packages, t.critical, t.high, t.medium, t.low, t.other";

fn image_row(r: &Row) -> Result<ImageRow, ::postgres::Error> {
    Ok(ImageRow {
        id: r.try_get(0)?,
        cluster: r.try_get(1)?,
        name: r.try_get(2)?,
        reference: r.try_get(3)?,
        digest: r.try_get(4)?,
        os: r.try_get(5)?,
        scanned: rfc3339(r.try_get(6)?),
        packages: count(r.try_get(7)?),
        vulnerabilities: SeverityCounts {
            critical: count(r.try_get(8)?),
            high: count(r.try_get(9)?),
            medium: count(r.try_get(10)?),
            low: count(r.try_get(11)?),
            other: count(r.try_get(12)?),
        },
    })
}

fn json_column(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn severity_counts(
    client: &mut Client,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<SeverityCounts, StoreError> {
    let mut counts = SeverityCounts::default();
    for row in client.query(sql, args).map_err(error)? {
        let sev: i64 = row.try_get(0).map_err(error)?;
        let n: i64 = row.try_get(1).map_err(error)?;
        counts.add(severity_of(sev), count(n));
    }
    Ok(counts)
}

fn scalar(client: &mut Client, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
    client
        .query_one(sql, args)
        .and_then(|r| r.try_get::<_, Option<i64>>(0))
        .map(|n| count(n.unwrap_or(0)))
        .map_err(error)
}

impl PgStore {
    /// One attempt at [`Store::ingest`]; the caller retries deadlocks.
    fn ingest_once(
        &self,
        client: &mut Client,
        cluster: &str,
        batch: &Batch,
        windows: Windows,
        received_ms: i64,
    ) -> Result<Ingested, (StoreError, Option<SqlState>)> {
        let fail = |e: ::postgres::Error| (error_of(&e), e.code().cloned());
        let plain = |e: StoreError| (e, None);
        let mut tx = client.transaction().map_err(fail)?;
        let cluster_id = self
            .cluster_id(&mut tx, cluster, received_ms)
            .map_err(plain)?;
        let mut done = Ingested::default();
        if let Some(id) = &batch.id {
            let fresh = tx
                .execute(
                    "INSERT INTO batches (cluster_id, batch_id, received) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&cluster_id, id, &received_ms],
                )
                .map_err(fail)?;
            if fresh == 0 {
                done.duplicate = true;
                return Ok(done);
            }
        }
        copy_events(&mut tx, cluster_id, batch).map_err(plain)?;
        done.events = batch.events.len() as u64;
        if !batch.alerts.is_empty() || !batch.images.is_empty() || batch.posture.is_some() {
            lock_cluster(&mut tx, cluster_id).map_err(plain)?;
        }
        for a in &batch.alerts {
            if store_alert(&mut tx, cluster_id, a, windows).map_err(plain)? {
                done.deduplicated += 1;
            }
        }
        done.alerts = batch.alerts.len() as u64;
        for image in &batch.images {
            store_image(&mut tx, cluster_id, image, received_ms).map_err(plain)?;
        }
        done.images = batch.images.len() as u64;
        if let Some(report) = &batch.posture {
            done.findings =
                store_posture(&mut tx, cluster_id, report, received_ms).map_err(plain)?;
        }
        // Last, so the cluster row's lock (which every ingest of the cluster takes) is
        // held only for the commit.
        tx.execute(
            "UPDATE clusters SET last_seen = GREATEST(COALESCE(last_seen, $2), $2), \
             events = events + $3 WHERE id = $1",
            &[&cluster_id, &received_ms, &int(done.events)],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(done)
    }
}

impl Store for PgStore {
    fn add_token(&self, name: &str, role: &Role, digest: &[u8; 32]) -> Result<(), StoreError> {
        let now = crate::ingest::now_ms();
        self.with(|client| {
            let mut tx = client.transaction().map_err(error)?;
            let cluster = match role {
                Role::Admin => None,
                Role::Cluster(c) => Some(cluster_id(&mut tx, c, now)?),
            };
            tx.execute(
                "INSERT INTO tokens (name, digest, role, cluster_id, created) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&name, &&digest[..], &role.kind(), &cluster, &now],
            )
            .map_err(|e| {
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    StoreError::Invalid(format!("a token named {name:?} exists already"))
                } else {
                    error(e)
                }
            })?;
            tx.commit().map_err(error)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.with(|client| {
            client
                .query(
                    "SELECT t.name, t.role, c.name, t.created FROM tokens t \
                     LEFT JOIN clusters c ON c.id = t.cluster_id ORDER BY t.name",
                    &[],
                )
                .map_err(error)?
                .iter()
                .map(|r| {
                    Ok(TokenRow {
                        name: r.try_get(0)?,
                        role: r.try_get(1)?,
                        cluster: r.try_get(2)?,
                        created: rfc3339(r.try_get(3)?),
                    })
                })
                .collect::<Result<_, ::postgres::Error>>()
                .map_err(error)
        })
    }

    fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        self.with(|client| {
            client
                .execute("DELETE FROM tokens WHERE name = $1", &[&name])
                .map(|n| n > 0)
                .map_err(error)
        })
    }

    fn principal(&self, digest: &[u8; 32]) -> Result<Option<Principal>, StoreError> {
        self.with(|client| {
            let Some(row) = client
                .query_opt(
                    "SELECT t.name, t.role, c.name FROM tokens t \
                     LEFT JOIN clusters c ON c.id = t.cluster_id WHERE t.digest = $1",
                    &[&&digest[..]],
                )
                .map_err(error)?
            else {
                return Ok(None);
            };
            let name: String = row.try_get(0).map_err(error)?;
            let role: String = row.try_get(1).map_err(error)?;
            let cluster: Option<String> = row.try_get(2).map_err(error)?;
            let role = match (role.as_str(), cluster) {
                ("admin", _) => Role::Admin,
                ("cluster", Some(c)) => Role::Cluster(c),
                _ => return Ok(None),
            };
            Ok(Some(Principal { name, role }))
        })
    }

    fn ingest(
        &self,
        cluster: &str,
        batch: &Batch,
        windows: Windows,
        received_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.with(|client| {
            let mut attempt = 1;
            loop {
                match self.ingest_once(client, cluster, batch, windows, received_ms) {
                    Ok(done) => return Ok(done),
                    Err((e, code)) if attempt < ATTEMPTS && retryable(&e, code.as_ref()) => {
                        tracing::debug!(attempt, "ingest retried: {e}");
                        attempt += 1;
                    }
                    Err((e, _)) => return Err(e),
                }
            }
        })
    }

    fn overview(&self, now_ms: i64) -> Result<Overview, StoreError> {
        const HOUR: i64 = 3600 * 1000;
        self.with(|client| {
            let first_hour = (now_ms / HOUR - 23) * HOUR;
            let mut hours: Vec<Bucket> = (0..24)
                .map(|i| Bucket {
                    start: rfc3339(first_hour + i * HOUR),
                    count: 0,
                })
                .collect();
            let rows = client
                .query(
                    "SELECT (last_seen - $1) / $2, SUM(count)::BIGINT FROM alerts \
                     WHERE last_seen >= $1 GROUP BY 1",
                    &[&first_hour, &HOUR],
                )
                .map_err(error)?;
            for row in rows {
                let i: i64 = row.try_get(0).map_err(error)?;
                let n: i64 = row.try_get(1).map_err(error)?;
                if let Some(b) = usize::try_from(i).ok().and_then(|i| hours.get_mut(i)) {
                    b.count = count(n);
                }
            }
            let day_ago = now_ms - 24 * HOUR;
            Ok(Overview {
                clusters: scalar(client, "SELECT COUNT(*) FROM clusters", &[])?,
                events: scalar(client, "SELECT SUM(events)::BIGINT FROM clusters", &[])?,
                alerts: severity_counts(
                    client,
                    "SELECT severity, COUNT(*) FROM alerts GROUP BY severity",
                    &[],
                )?,
                active_incidents: scalar(
                    client,
                    "SELECT COUNT(*) FROM incidents WHERE last_seen >= $1",
                    &[&day_ago],
                )?,
                images: scalar(client, "SELECT COUNT(*) FROM images", &[])?,
                vulnerabilities: severity_counts(
                    client,
                    "SELECT severity, COUNT(*) FROM vulnerabilities GROUP BY severity",
                    &[],
                )?,
                findings: severity_counts(
                    client,
                    "SELECT severity, COUNT(*) FROM findings GROUP BY severity",
                    &[],
                )?,
                alerts_over_time: hours,
            })
        })
    }

    fn clusters(&self) -> Result<Vec<ClusterRow>, StoreError> {
        self.with(|client| {
            client
                .query(
                    "SELECT c.name, c.created, c.last_seen, c.events, \
                     (SELECT COUNT(*) FROM alerts a WHERE a.cluster_id = c.id), \
                     (SELECT COUNT(*) FROM images i WHERE i.cluster_id = c.id), \
                     (SELECT COUNT(*) FROM findings f WHERE f.cluster_id = c.id) \
                     FROM clusters c ORDER BY c.name",
                    &[],
                )
                .map_err(error)?
                .iter()
                .map(|r| {
                    Ok(ClusterRow {
                        name: r.try_get(0)?,
                        created: rfc3339(r.try_get(1)?),
                        last_seen: r.try_get::<_, Option<i64>>(2)?.map(rfc3339),
                        events: count(r.try_get(3)?),
                        alerts: count(r.try_get(4)?),
                        images: count(r.try_get(5)?),
                        findings: count(r.try_get(6)?),
                    })
                })
                .collect::<Result<_, ::postgres::Error>>()
                .map_err(error)
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
                "\"user\"",
            ],
        );
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.rule_id = ?", [Param::Text(k.to_string())]);
        }
        self.with(|client| {
            let from = "alerts t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(client, "alerts t", &w)?;
            let items = page(
                client,
                ALERT_COLUMNS,
                from,
                &w,
                "t.last_seen DESC, t.id DESC",
                q,
                alert_row,
            )?;
            Ok(Page { total, items })
        })
    }

    fn alert(&self, id: i64) -> Result<Option<AlertDetail>, StoreError> {
        self.with(|client| {
            let Some(r) = client
                .query_opt(
                    &format!(
                        "SELECT {ALERT_COLUMNS}, t.body FROM alerts t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id = $1"
                    ),
                    &[&id],
                )
                .map_err(error)?
            else {
                return Ok(None);
            };
            Ok(Some(AlertDetail {
                row: alert_row(&r).map_err(error)?,
                alert: json_column(r.try_get(18).map_err(error)?),
            }))
        })
    }

    fn incidents(&self, q: &ListQuery) -> Result<Page<IncidentRow>, StoreError> {
        let mut w = Where::common(q, "last_seen")?;
        w.search(q, &["subject", "title"]);
        self.with(|client| {
            let from = "incidents t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(client, "incidents t", &w)?;
            let items = page(
                client,
                INCIDENT_COLUMNS,
                from,
                &w,
                "t.last_seen DESC, t.id DESC",
                q,
                incident_row,
            )?;
            Ok(Page { total, items })
        })
    }

    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
        self.with(|client| {
            let Some(r) = client
                .query_opt(
                    &format!(
                        "SELECT {INCIDENT_COLUMNS} FROM incidents t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id = $1"
                    ),
                    &[&id],
                )
                .map_err(error)?
            else {
                return Ok(None);
            };
            let row = incident_row(&r).map_err(error)?;
            let timeline = client
                .query(
                    &format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts t \
                         JOIN clusters c ON c.id = t.cluster_id \
                         WHERE t.incident_id = $1 ORDER BY t.first_seen, t.id LIMIT 1000"
                    ),
                    &[&id],
                )
                .map_err(error)?
                .iter()
                .map(alert_row)
                .collect::<Result<_, _>>()
                .map_err(error)?;
            Ok(Some(IncidentDetail { row, timeline }))
        })
    }

    fn events(&self, q: &ListQuery) -> Result<Page<EventRow>, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        if let Some(since) = q.since_ms()? {
            w.add("t.time >= ?", [Param::Int(since)]);
        }
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.kind = ?", [Param::Text(k.to_string())]);
        }
        w.place(q);
        self.with(|client| {
            let from = "events t JOIN clusters c ON c.id = t.cluster_id";
            // Counting millions of raw events for every page is the slow part of a page;
            // an unfiltered listing takes the kept count instead.
            let total = if w.clauses.is_empty() {
                scalar(client, "SELECT SUM(events)::BIGINT FROM clusters", &[])?
            } else {
                total(client, "events t", &w)?
            };
            let items = page(
                client,
                "t.id, c.name, t.time, t.source, t.kind, t.node, t.namespace, t.pod, \
                 t.container, t.body",
                from,
                &w,
                "t.time DESC, t.id DESC",
                q,
                |r| {
                    Ok(EventRow {
                        id: r.try_get(0)?,
                        cluster: r.try_get(1)?,
                        time: rfc3339(r.try_get(2)?),
                        source: r.try_get(3)?,
                        kind: r.try_get(4)?,
                        node: r.try_get(5)?,
                        namespace: r.try_get(6)?,
                        pod: r.try_get(7)?,
                        container: r.try_get(8)?,
                        event: json_column(r.try_get(9)?),
                    })
                },
            )?;
            Ok(Page { total, items })
        })
    }

    fn images(&self, q: &ListQuery) -> Result<Page<ImageRow>, StoreError> {
        let mut w = Where::default();
        w.cluster(q);
        w.search(q, &["name", "reference", "digest"]);
        self.with(|client| {
            let from = "images t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(client, "images t", &w)?;
            let items = page(
                client,
                IMAGE_COLUMNS,
                from,
                &w,
                "t.critical DESC, t.high DESC, t.medium DESC, t.name",
                q,
                image_row,
            )?;
            Ok(Page { total, items })
        })
    }

    fn image(&self, id: i64) -> Result<Option<ImageDetail>, StoreError> {
        self.with(|client| {
            let Some(r) = client
                .query_opt(
                    &format!(
                        "SELECT {IMAGE_COLUMNS} FROM images t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id = $1"
                    ),
                    &[&id],
                )
                .map_err(error)?
            else {
                return Ok(None);
            };
            let row = image_row(&r).map_err(error)?;
            let list = client
                .query(
                    "SELECT vuln_id, package, version, fixed, severity, status, title \
                     FROM vulnerabilities WHERE image_id = $1 \
                     ORDER BY severity DESC, package, vuln_id",
                    &[&id],
                )
                .map_err(error)?
                .iter()
                .map(|r| {
                    Ok(VulnRow {
                        id: r.try_get(0)?,
                        package: r.try_get(1)?,
                        version: r.try_get(2)?,
                        fixed: r.try_get(3)?,
                        severity: severity_of(r.try_get(4)?),
                        status: r.try_get(5)?,
                        title: r.try_get(6)?,
                    })
                })
                .collect::<Result<_, ::postgres::Error>>()
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
            w.add("t.severity >= ?", [Param::Int(rank(s))]);
        }
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            w.add("t.check_id = ?", [Param::Text(k.to_string())]);
        }
        w.search(q, &["title", "check_id", "name", "namespace", "kind"]);
        self.with(|client| {
            let from = "findings t JOIN clusters c ON c.id = t.cluster_id";
            let total = total(client, "findings t", &w)?;
            let items = page(
                client,
                "t.id, c.name, t.finding_id, t.check_id, t.severity, t.title, t.kind, \
                 t.namespace, t.name, t.body",
                from,
                &w,
                "t.severity DESC, t.check_id, t.namespace, t.name",
                q,
                |r| {
                    Ok(FindingRow {
                        id: r.try_get(0)?,
                        cluster: r.try_get(1)?,
                        finding_id: r.try_get(2)?,
                        check_id: r.try_get(3)?,
                        severity: severity_of(r.try_get(4)?),
                        title: r.try_get(5)?,
                        kind: r.try_get(6)?,
                        namespace: r.try_get(7)?,
                        name: r.try_get(8)?,
                        finding: json_column(r.try_get(9)?),
                    })
                },
            )?;
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
        self.with(|client| {
            client
                .query(
                    &format!(
                        "SELECT c.name, t.scanned, t.complete, t.findings, t.attack_paths \
                         FROM posture_scans t JOIN clusters c ON c.id = t.cluster_id {} \
                         ORDER BY c.name",
                        w.sql()
                    ),
                    &w.args(),
                )
                .map_err(error)?
                .iter()
                .map(|r| {
                    Ok(PostureRow {
                        cluster: r.try_get(0)?,
                        scanned: rfc3339(r.try_get(1)?),
                        complete: r.try_get(2)?,
                        findings: count(r.try_get(3)?),
                        attack_paths: json_column(r.try_get(4)?),
                    })
                })
                .collect::<Result<_, ::postgres::Error>>()
                .map_err(error)
        })
    }

    fn image_reports(
        &self,
        cluster: Option<&str>,
        not_matched_against: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VulnReport)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|client| {
            let rows = client
                .query(
                    "SELECT c.name, t.report FROM images t JOIN clusters c ON c.id = t.cluster_id \
                     WHERE ($1::TEXT IS NULL OR c.name = $1) \
                     AND ($2::TEXT IS NULL OR t.db_updated IS NULL OR t.db_updated <> $2) \
                     ORDER BY t.id LIMIT $3",
                    &[&cluster, &not_matched_against, &limit],
                )
                .map_err(error)?;
            let mut out = Vec::new();
            for row in rows {
                let cluster: String = row.try_get(0).map_err(error)?;
                let text: String = row.try_get(1).map_err(error)?;
                match serde_json::from_str(&text) {
                    Ok(report) => out.push((cluster, report)),
                    Err(e) => tracing::warn!("a stored image report does not read back: {e}"),
                }
            }
            Ok(out)
        })
    }

    /// As SQLite's. One caveat with replicas: alert ids are taken when a row is inserted
    /// but become visible when its transaction commits, so an alert committed after a
    /// larger id was exported can be passed over by the cursor.
    fn export_pending(&self, sink: &str, limit: usize) -> Result<Vec<AlertDetail>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|client| {
            // A sink met for the first time starts after the newest alert: turning an
            // export on does not replay months of history into a SIEM.
            client
                .execute(
                    "INSERT INTO export_cursors (sink, last_alert_id) \
                     VALUES ($1, (SELECT COALESCE(MAX(id), 0) FROM alerts)) ON CONFLICT DO NOTHING",
                    &[&sink],
                )
                .map_err(error)?;
            let cursor: i64 = client
                .query_one(
                    "SELECT last_alert_id FROM export_cursors WHERE sink = $1",
                    &[&sink],
                )
                .and_then(|r| r.try_get(0))
                .map_err(error)?;
            client
                .query(
                    &format!(
                        "SELECT {ALERT_COLUMNS}, t.body FROM alerts t \
                         JOIN clusters c ON c.id = t.cluster_id WHERE t.id > $1 \
                         ORDER BY t.id LIMIT $2"
                    ),
                    &[&cursor, &limit],
                )
                .map_err(error)?
                .iter()
                .map(|r| {
                    Ok(AlertDetail {
                        row: alert_row(r)?,
                        alert: json_column(r.try_get(18)?),
                    })
                })
                .collect::<Result<_, ::postgres::Error>>()
                .map_err(error)
        })
    }

    fn export_delivered(&self, sink: &str, alert_id: i64) -> Result<(), StoreError> {
        self.with(|client| {
            client
                .execute(
                    "UPDATE export_cursors SET last_alert_id = GREATEST(last_alert_id, $2) \
                     WHERE sink = $1",
                    &[&sink, &alert_id],
                )
                .map(|_| ())
                .map_err(error)
        })
    }

    /// Each kind is deleted in a statement of its own (autocommitted): a prune then
    /// holds row locks only as long as one statement, and meets the replicas' ingests
    /// less. Events and the per-cluster counts go in one statement, so the count stays
    /// exactly what is held.
    fn prune(&self, retention: &Retention, now_ms: i64) -> Result<Pruned, StoreError> {
        self.with(|client| {
            let events_before = now_ms - retention.events_ms;
            let events: i64 = client
                .query_one(
                    "WITH gone AS (DELETE FROM events WHERE time < $1 RETURNING cluster_id), \
                     per AS (SELECT cluster_id, COUNT(*) AS n FROM gone GROUP BY cluster_id), \
                     counted AS (UPDATE clusters SET events = GREATEST(events - per.n, 0) \
                                 FROM per WHERE clusters.id = per.cluster_id RETURNING per.n) \
                     SELECT COALESCE(SUM(n), 0)::BIGINT FROM counted",
                    &[&events_before],
                )
                .and_then(|r| r.try_get(0))
                .map_err(error)?;
            let alerts_before = now_ms - retention.alerts_ms;
            let alerts = client
                .execute("DELETE FROM alerts WHERE last_seen < $1", &[&alerts_before])
                .map_err(error)?;
            let incidents = client
                .execute(
                    "DELETE FROM incidents WHERE last_seen < $1",
                    &[&alerts_before],
                )
                .map_err(error)?;
            let scans = client
                .execute(
                    "DELETE FROM posture_scans WHERE scanned < $1 AND id NOT IN \
                     (SELECT MAX(id) FROM posture_scans GROUP BY cluster_id)",
                    &[&(now_ms - retention.scans_ms)],
                )
                .map_err(error)?;
            // Retries come within minutes; a day of batch ids is plenty.
            client
                .execute(
                    "DELETE FROM batches WHERE received < $1",
                    &[&(now_ms - 24 * 3600 * 1000)],
                )
                .map_err(error)?;
            Ok(Pruned {
                events: count(events),
                alerts,
                incidents,
                scans,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut w = Where::default();
        w.add("c.name = ?", [Param::Text("prod".into())]);
        w.add(
            "(t.a ILIKE ? OR t.b ILIKE ?)",
            [Param::Int(1), Param::Int(2)],
        );
        assert_eq!(
            w.sql(),
            "WHERE c.name = $1 AND (t.a ILIKE $2 OR t.b ILIKE $3)"
        );
        assert_eq!(w.page_sql(), "LIMIT $4 OFFSET $5");
        assert_eq!(Where::default().sql(), "");
    }

    #[test]
    fn deadlocks_are_tried_again_and_nothing_else() {
        let dead = StoreError::Other("db error: deadlock detected (40P01)".into());
        assert!(retryable(&dead, None));
        let bad = StoreError::Other("db error: syntax error (42601)".into());
        assert!(!retryable(&bad, None));
        assert!(retryable(&bad, Some(&SqlState::T_R_SERIALIZATION_FAILURE)));
        let away = StoreError::Unavailable("connection closed".into());
        assert!(!retryable(&away, Some(&SqlState::T_R_DEADLOCK_DETECTED)));
    }

    #[test]
    fn only_postgres_urls_are_taken() {
        assert!(is_url("postgres://vigil@db/vigil"));
        assert!(is_url("postgresql://db/vigil?sslmode=require"));
        assert!(!is_url("/var/lib/vigil"));
        assert!(!is_url("sqlite:vigil.db"));
    }

    #[test]
    fn a_bad_url_is_the_callers_fault() {
        let err = PgStore::open("postgres://db:notaport/x", Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }

    #[test]
    fn a_refused_connection_is_unavailable() {
        // Port 1 on loopback: nothing listens there.
        let err = PgStore::open(
            "postgres://vigil@127.0.0.1:1/vigil?connect_timeout=2",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    }
}
