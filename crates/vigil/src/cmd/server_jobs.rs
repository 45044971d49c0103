//! The server's scheduled work: vulnerability database updates, stored images matched
//! again when the database changes (their inventories are kept, so nothing is pulled
//! again), and posture
//! snapshots of registered clusters at intervals, read through the same live-cluster code
//! as `vigil k8s scan --kubeconfig`.

use crate::cmd::k8s::live::{ClusterArgs, read_cluster};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use vigil_server::correlate::Windows;
use vigil_server::ingest;
use vigil_server::store::Store;

/// Scheduled work's arguments.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct JobArgs {
    /// Vulnerability database (from `vigil db update` or `vigil db import`) that stored
    /// images are matched against again whenever it changes.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled work")]
    pub vuln_db: Option<PathBuf>,
    /// How often to check the vulnerability database for a change, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        help_heading = "Scheduled work"
    )]
    pub rematch_interval: u64,
    /// Update --vuln-db from OSV's archives every SECS seconds, as `vigil db update` does
    /// (0: never; the server then only follows updates made by others).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        requires = "vuln_db",
        help_heading = "Scheduled work"
    )]
    pub db_update_interval: u64,
    /// Where the OSV archives are for --db-update-interval (`{URL}/{ECOSYSTEM}/all.zip`).
    #[arg(long, value_name = "URL", env = "VIGIL_OSV_URL", default_value = vigil_vulndb::update::DEFAULT_BASE_URL, help_heading = "Scheduled work")]
    pub db_update_url: String,
    /// An OSV ecosystem to update (repeatable; default: every one Vigil matches).
    #[arg(
        long = "db-update-ecosystem",
        value_name = "NAME",
        help_heading = "Scheduled work"
    )]
    pub db_update_ecosystems: Vec<String>,
    /// Take a posture snapshot of a cluster at intervals, filed under NAME: the
    /// kubeconfig context CONTEXT, or the current context when only NAME is given.
    /// Repeatable.
    #[arg(
        long = "scan-cluster",
        value_name = "NAME[=CONTEXT]",
        help_heading = "Scheduled work"
    )]
    pub scan_clusters: Vec<String>,
    /// Kubeconfig for --scan-cluster (default: KUBECONFIG, ~/.kube/config, or the pod's
    /// service account).
    #[arg(long, value_name = "PATH", help_heading = "Scheduled work")]
    pub kubeconfig: Option<PathBuf>,
    /// Seconds between posture snapshots of each registered cluster.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3600,
        help_heading = "Scheduled work"
    )]
    pub scan_interval: u64,
}

/// A cluster scanned at intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registered {
    name: String,
    context: Option<String>,
}

fn registered(spec: &str) -> Result<Registered> {
    let (name, context) = match spec.split_once('=') {
        Some((n, c)) => (n, Some(c.to_string())),
        None => (spec, None),
    };
    if name.is_empty() || context.as_deref() == Some("") {
        bail!("--scan-cluster {spec:?}: give NAME or NAME=CONTEXT");
    }
    Ok(Registered {
        name: name.to_string(),
        context,
    })
}

/// One kind of scheduled work and when it is next due.
enum Job {
    Update {
        db: PathBuf,
        options: vigil_vulndb::update::UpdateOptions,
    },
    Rematch {
        db: PathBuf,
    },
    Scan(Registered),
}

/// The thread that runs the jobs, until [`Jobs::stop`].
pub struct Jobs {
    stop: Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Jobs {
    /// Starts the jobs `args` ask for (none: a thread that only waits to stop).
    pub fn start(store: Arc<dyn Store>, args: &JobArgs) -> Result<Jobs> {
        let mut jobs: Vec<(Job, Duration)> = Vec::new();
        if let (Some(db), true) = (&args.vuln_db, args.db_update_interval > 0) {
            let mut options = vigil_vulndb::update::UpdateOptions {
                base_url: args.db_update_url.clone(),
                ..Default::default()
            };
            if !args.db_update_ecosystems.is_empty() {
                options.ecosystems = args.db_update_ecosystems.clone();
            }
            // Before the re-match in the list, so a fresh update is matched at once.
            jobs.push((
                Job::Update {
                    db: db.clone(),
                    options,
                },
                Duration::from_secs(args.db_update_interval),
            ));
        }
        if let Some(db) = &args.vuln_db {
            jobs.push((
                Job::Rematch { db: db.clone() },
                Duration::from_secs(args.rematch_interval.max(1)),
            ));
        }
        for spec in &args.scan_clusters {
            jobs.push((
                Job::Scan(registered(spec)?),
                Duration::from_secs(args.scan_interval.max(1)),
            ));
        }
        let kubeconfig = args.kubeconfig.clone();
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("jobs".into())
            .spawn(move || run(store.as_ref(), jobs, kubeconfig, &stopped))
            .context("starting the scheduled work")?;
        Ok(Jobs { stop, thread })
    }

    /// Stops after the job under way.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn run(
    store: &dyn Store,
    jobs: Vec<(Job, Duration)>,
    kubeconfig: Option<PathBuf>,
    stopped: &Receiver<()>,
) {
    // Everything is due at start; then each job at its own interval.
    let mut due: Vec<Instant> = jobs.iter().map(|_| Instant::now()).collect();
    loop {
        for ((job, every), next) in jobs.iter().zip(due.iter_mut()) {
            if Instant::now() < *next {
                continue;
            }
            let done = match job {
                Job::Update { db, options } => update(db, options),
                Job::Rematch { db } => rematch(store, db),
                Job::Scan(cluster) => scan(store, cluster, kubeconfig.clone()),
            };
            if let Err(e) = done {
                tracing::warn!("scheduled work: {e:#}");
            }
            *next = Instant::now() + *every;
        }
        let wake = due.iter().min().copied();
        let wait = wake.map_or(Duration::from_secs(3600), |w| {
            w.saturating_duration_since(Instant::now())
        });
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// Updates the database from OSV; a failed update leaves the previous one in place.
fn update(db: &std::path::Path, options: &vigil_vulndb::update::UpdateOptions) -> Result<()> {
    let summary = vigil_vulndb::update::update(db, options, &|_| {})
        .context("updating the vulnerability database (the previous one is unchanged)")?;
    let written: u64 = summary.imported.written.values().sum();
    tracing::info!(
        advisories = written,
        unchanged = summary.unchanged.len(),
        "vulnerability database updated"
    );
    Ok(())
}

/// Matches every stored image not yet matched against `db`'s current contents again.
fn rematch(store: &dyn Store, db_path: &std::path::Path) -> Result<()> {
    if !db_path.exists() {
        tracing::info!(db = %db_path.display(), "no vulnerability database yet; nothing to match");
        return Ok(());
    }
    let db = vigil_vulndb::Database::open(db_path)?;
    let sources = db.sources()?;
    if sources.is_empty() {
        return Ok(());
    }
    // The version `build_report` will stamp its reports with.
    let updated = vigil_core::DatabaseInfo {
        updated: sources.iter().map(|s| s.imported.clone()).max(),
        sources: sources.into_iter().map(|s| s.name).collect(),
    }
    .version();
    // One pass a tick: a report that somehow kept an older version is matched again on
    // the next tick, never in a loop within this one.
    let stale = store.image_reports(None, Some(&updated), 10_000)?;
    let matched = stale.len();
    for (cluster, report) in stale {
        let reference = report.inventory.target.reference.clone();
        let fresh = super::image::build_report(&db, report.inventory, |_, _| true)
            .with_context(|| format!("matching {reference} again"))?;
        store.ingest(
            &cluster,
            &ingest::image_batch(fresh)?,
            Windows::default(),
            ingest::now_ms(),
        )?;
    }
    if matched > 0 {
        tracing::info!(images = matched, db_updated = %updated, "images matched again against the updated database");
    }
    Ok(())
}

/// A posture snapshot of `cluster`, its stored images joined for attack paths.
fn scan(store: &dyn Store, cluster: &Registered, kubeconfig: Option<PathBuf>) -> Result<()> {
    let args = ClusterArgs {
        kubeconfig,
        context: cluster.context.clone(),
        page_size: 500,
    };
    let inventory =
        read_cluster(&args).with_context(|| format!("reading cluster {}", cluster.name))?;
    let images: Vec<_> = store
        .image_reports(Some(&cluster.name), None, 10_000)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let report = vigil_kube::report::scan(&inventory, "cluster", &cluster.name, &images);
    let findings = report.findings.len();
    store.ingest(
        &cluster.name,
        &ingest::posture_batch(report),
        Windows::default(),
        ingest::now_ms(),
    )?;
    tracing::info!(cluster = %cluster.name, findings, "posture snapshot stored");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_clusters() {
        assert_eq!(
            registered("prod=kind-prod").unwrap(),
            Registered {
                name: "prod".into(),
                context: Some("kind-prod".into())
            }
        );
        assert_eq!(registered("prod").unwrap().context, None);
        assert!(registered("=x").is_err());
        assert!(registered("prod=").is_err());
    }
}
