//! `vigil up`: everything on one machine with nothing to set up — the server on localhost
//! with SQLite, the demo image scanned against the bundled demo advisories, the demo
//! cluster's manifests checked for posture, the runtime sensor (with the built-in runtime
//! rules) on this host when run as root, and the dashboard's address printed with a token in it.

use crate::cmd::server::{DataArgs, ServeArgs, create_token};
use crate::listen;
use anyhow::{Context, Result};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_server::auth::Role;
use vigil_server::correlate::Windows;
use vigil_server::ingest::{self, Batch, EventRecord};
use vigil_server::store::Store;

/// The cluster `vigil up` files its data under.
const CLUSTER: &str = "local";

/// `vigil server serve`'s arguments with nothing given: its defaults.
#[derive(Parser)]
struct ServeDefaults {
    #[command(flatten)]
    serve: ServeArgs,
}

/// `vigil up` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to serve the dashboard and API on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8443")]
    pub listen: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Do not start the runtime sensor, even as root.
    #[arg(long)]
    pub no_sensor: bool,
}

/// The secret of the token named `name`, kept in a file of the data dir (mode 0600) so
/// that each `vigil up` prints the same link; made again when the file or the token is
/// gone.
fn standing_token(store: &dyn Store, dir: &Path, name: &str, role: &Role) -> Result<String> {
    let file = dir.join(format!("{name}.token"));
    if let Ok(secret) = std::fs::read_to_string(&file) {
        let secret = secret.trim().to_string();
        if store
            .principal(&vigil_server::auth::digest(&secret))?
            .is_some_and(|p| p.role == *role)
        {
            return Ok(secret);
        }
    }
    store.revoke_token(name)?;
    let secret = create_token(store, name, role)?;
    write_private(&file, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Scans the demo image and the demo cluster and stores both, as `vigil image` and
/// `vigil k8s scan` reports sent by the cluster would be.
fn scan_demo(store: &dyn Store, dir: &Path) -> Result<()> {
    let layout = dir.join("demo-image");
    let inventory = super::demo::demo_inventory(&layout)?;
    let scratch = tempfile::tempdir().context("creating a temporary folder")?;
    let db_path = scratch.path().join("demo-vulndb.sqlite");
    super::demo::demo_database(&db_path, scratch.path())?;
    let db = vigil_vulndb::Database::open(&db_path)?;
    let report = super::image::build_report(&db, inventory, |_, _| true)?;
    let vulns = report.actionable().len();

    let digest = report
        .inventory
        .manifest_digest
        .clone()
        .context("the demo image has no manifest digest")?;
    let manifests = include_str!("../../demo/cluster.yaml").replace("DEMO_IMAGE_DIGEST", &digest);
    let objects = vigil_kube::manifest::parse(
        manifests.as_bytes(),
        Path::new("<demo cluster.yaml>"),
        &vigil_kube::manifest::Limits::default(),
    )?;
    let cluster = vigil_kube::inventory::ClusterInfo {
        name: CLUSTER.into(),
        ..Default::default()
    };
    let inventory = vigil_kube::Inventory::new(cluster, objects);
    let posture = vigil_kube::report::scan(
        &inventory,
        "manifests",
        "demo cluster",
        std::slice::from_ref(&report),
    );
    let findings = posture.findings.len();
    let paths = posture.attack_paths.len();
    let now = ingest::now_ms();
    store.ingest(
        CLUSTER,
        &ingest::image_batch(report)?,
        Windows::default(),
        now,
    )?;
    store.ingest(
        CLUSTER,
        &ingest::posture_batch(posture),
        Windows::default(),
        now,
    )?;
    eprintln!(
        "vigil: scanned the demo image ({vulns} vulnerabilities) and the demo cluster \
         ({findings} posture findings, {paths} attack paths)"
    );
    Ok(())
}

/// Sensor events into the store, a batch a second.
struct StoreSink {
    store: Arc<dyn Store>,
    node: String,
    pending: Vec<EventRecord>,
    alerts: Vec<ingest::AlertRecord>,
    line: Vec<u8>,
    last: Instant,
}

impl StoreSink {
    fn store_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() && self.alerts.is_empty() {
            return Ok(());
        }
        let batch = Batch {
            events: std::mem::take(&mut self.pending),
            alerts: std::mem::take(&mut self.alerts),
            ..Batch::default()
        };
        self.last = Instant::now();
        self.store
            .ingest(CLUSTER, &batch, Windows::default(), ingest::now_ms())
            .map(|_| ())
            .map_err(std::io::Error::other)
    }
}

impl vigil_sensor::sink::Sink for StoreSink {
    fn send(&mut self, event: &vigil_sensor::event::Event<'_>) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, event)?;
        let text = std::str::from_utf8(&self.line).map_err(std::io::Error::other)?;
        let record = ingest::sensor_event(text, &self.node, 0).map_err(std::io::Error::other)?;
        self.pending.push(record);
        if self.pending.len() >= 5_000 {
            self.store_pending()?;
        }
        Ok(())
    }

    fn alert(&mut self, alert: &vigil_core::Alert) -> std::io::Result<()> {
        let record = ingest::alert_record(alert.clone(), &self.node, ingest::now_ms(), "alert")
            .map_err(std::io::Error::other)?;
        self.alerts.push(record);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.last.elapsed() >= Duration::from_secs(1) {
            self.store_pending()?;
        }
        Ok(())
    }
}

/// Starts the sensor on a thread when this process may (root, BTF); says why not
/// otherwise.
fn start_sensor(
    store: Arc<dyn Store>,
    stop: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    if let Err(e) = vigil_sensor::collector::preflight() {
        eprintln!("vigil: the runtime sensor is not started: {e}");
        return None;
    }
    let node = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let spawned = std::thread::Builder::new()
        .name("sensor".into())
        .spawn(move || {
            let watches = match vigil_sensor::watch::WatchTable::new(
                vigil_sensor::watch::DEFAULT_WATCHES.iter().copied(),
            ) {
                Ok(w) => w,
                Err(e) => return eprintln!("vigil: sensor: {e}"),
            };
            let config = vigil_sensor::collector::Config {
                watches: watches.clone(),
                ..vigil_sensor::collector::Config::default()
            };
            let enricher = vigil_sensor::enrich::Enricher::new(
                Box::new(vigil_sensor::enrich::ProcFs),
                Box::new(vigil_sensor::enrich::NoMetadata),
            );
            let sink = StoreSink {
                store,
                node: node.clone(),
                pending: Vec::new(),
                alerts: Vec::new(),
                line: Vec::new(),
                last: Instant::now(),
            };
            let rules = match vigil_sensor::detect::engine(true, &[] as &[&Path]) {
                Ok(r) => Arc::new(r),
                Err(e) => return eprintln!("vigil: sensor rules: {e}"),
            };
            let mut pipeline = vigil_sensor::pipeline::Pipeline::new(enricher, node, watches, sink)
                .with_rules(rules, false)
                .on_attached(|a| {
                    eprintln!(
                        "vigil: runtime sensor attached ({} programs)",
                        a.programs.len()
                    );
                });
            if let Err(e) = vigil_sensor::collector::run(&config, &mut pipeline, &stop, None) {
                eprintln!("vigil: the runtime sensor stopped: {e}");
            }
        });
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("vigil: the runtime sensor could not start: {e}");
            None
        }
    }
}

/// Runs `vigil up`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (addr, tls) = listen::endpoint(&args.listen, None, None, false)?;
    let store: Arc<dyn Store> = args.data.open(Duration::from_secs(5))?;
    let dir = &args.data.data_dir;
    let admin = standing_token(store.as_ref(), dir, "up-admin", &Role::Admin)?;
    standing_token(
        store.as_ref(),
        dir,
        "up-local",
        &Role::Cluster(CLUSTER.into()),
    )?;
    scan_demo(store.as_ref(), dir)?;

    let stop = Arc::new(AtomicBool::new(false));
    let sensor = if args.no_sensor {
        None
    } else {
        start_sensor(Arc::clone(&store), Arc::clone(&stop))
    };
    // The server's own defaults, as `vigil server serve` has them.
    let serve = ServeDefaults::parse_from(["serve"]).serve;
    let server = super::server::server(&serve, Arc::clone(&store))?;
    let router = vigil_server::api::router(Arc::new(server));
    let data_dir = dir.clone();
    let served = listen::serve_until_signal_then(
        addr,
        tls,
        move |req| super::server::handle(router.clone(), req),
        move |url| {
            println!("Vigil is up. Dashboard: {url}#token={admin}");
            println!("(data in {}; Ctrl-C stops)", data_dir.display());
        },
    );
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = sensor {
        let _ = t.join();
    }
    served?;
    Ok(ExitCode::SUCCESS)
}
