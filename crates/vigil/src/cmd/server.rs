//! `vigil server`: the backend (ingest, storage, API, dashboard) and its tokens.

use crate::cmd::audit_judge::RuleArgs;
use crate::listen;
use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use vigil_server::api::{Server, ingest::AuditJudges};
use vigil_server::auth::{NewToken, Role};
use vigil_server::correlate::Windows;
use vigil_server::export::{self, Exporter, Pacing};
use vigil_server::store::postgres::PgStore;
use vigil_server::store::sqlite::SqliteStore;
use vigil_server::store::{Retention, Store};

/// `vigil server` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `vigil server` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serve the API, the ingest endpoints and the dashboard.
    Serve(Box<ServeArgs>),
    /// Create, list and revoke API tokens.
    Token(TokenArgs),
}

/// Where the server keeps its data.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// The data directory (the SQLite database lives here).
    #[arg(long, value_name = "DIR", env = "VIGIL_DATA_DIR", global = true, default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require`)
    /// instead of SQLite under --data-dir: several servers can share it, each ingesting.
    #[arg(
        long,
        value_name = "URL",
        env = "VIGIL_DATABASE",
        global = true,
        hide_env_values = true
    )]
    pub database: Option<String>,
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vigil")
        .join("server")
}

impl DataArgs {
    /// Opens the store: the PostgreSQL database when --database names one, else SQLite
    /// under the data directory (created when missing).
    pub fn open(&self, busy: Duration) -> Result<Arc<dyn Store>> {
        if let Some(url) = &self.database {
            if !vigil_server::store::postgres::is_url(url) {
                bail!("--database: {url:?} is not a postgres:// or postgresql:// URL");
            }
            let store = PgStore::open(url, busy).context("opening the PostgreSQL database")?;
            return Ok(Arc::new(store));
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let path = self.data_dir.join("vigil.db");
        let store = SqliteStore::open(&path, busy)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Arc::new(store))
    }
}

/// Where a scanner sends its results (`vigil image`, `vigil k8s scan`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SubmitArgs {
    /// Send to this Vigil server (https://HOST:PORT), with the cluster token from
    /// VIGIL_TOKEN or --token-file.
    #[arg(
        long,
        value_name = "URL",
        env = "VIGIL_SERVER",
        help_heading = "Sending to a server"
    )]
    pub server: Option<String>,
    /// File holding the cluster token (default: the VIGIL_TOKEN environment variable).
    #[arg(long, value_name = "FILE", help_heading = "Sending to a server")]
    pub token_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for the server.
    #[arg(long, value_name = "FILE", help_heading = "Sending to a server")]
    pub server_ca: Option<PathBuf>,
}

impl SubmitArgs {
    /// The cluster token: from --token-file, else `VIGIL_TOKEN`.
    pub fn token(&self) -> Result<String> {
        let token = match &self.token_file {
            Some(f) => {
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
            }
            None => std::env::var("VIGIL_TOKEN")
                .context("--server needs a token: set VIGIL_TOKEN or give --token-file")?,
        };
        Ok(token.trim().to_string())
    }

    /// The extra CA certificates (PEM), when given.
    pub fn ca(&self) -> Result<Option<Vec<u8>>> {
        self.server_ca
            .as_deref()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    }

    /// The client, when a server was given.
    pub fn client(&self) -> Result<Option<vigil_server::client::Client>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let ca = self.ca()?;
        Ok(Some(vigil_server::client::Client::new(
            server,
            &self.token()?,
            ca.as_deref(),
        )?))
    }
}

/// `vigil server serve` arguments.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require every client to present a TLS certificate signed by a CA in this file
    /// (PEM): mutual TLS, in addition to the bearer tokens.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback.
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// Largest request body in bytes, compressed and again decompressed.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    pub max_body: usize,
    /// Ingest requests stored at once; more get 429 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_ingest: usize,
    /// How long a database call waits for a lock before the server answers 503.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub db_wait: u64,
    /// Repeats of an alert (same rule, same place) within this many seconds are one alert
    /// with a count.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub dedup_window: i64,
    /// Alerts about the same pod, container, user or node within this many seconds of
    /// each other are one incident.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub incident_window: i64,
    /// Days raw events are kept.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub keep_events: i64,
    /// Days alerts and incidents are kept after their last sighting.
    #[arg(long, value_name = "DAYS", default_value_t = 180)]
    pub keep_alerts: i64,
    /// Days old posture scans are kept (each cluster's latest always is).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub keep_scans: i64,
    /// Rules that judge audit events sent to /api/v1/ingest/audit.
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
    #[command(flatten)]
    pub jobs: super::server_jobs::JobArgs,
}

/// Where alerts are sent on to (each repeatable; delivery is at least once, retried).
#[derive(clap::Args, Debug, Default)]
pub struct ExportArgs {
    /// POST each new alert as JSON to this URL (signed when --export-webhook-secret is given).
    #[arg(long, value_name = "URL")]
    pub export_webhook: Vec<String>,
    /// File holding the HMAC-SHA256 key that signs webhook bodies (X-Vigil-Signature).
    #[arg(long, value_name = "FILE")]
    pub export_webhook_secret: Option<PathBuf>,
    /// Send each new alert as syslog (RFC 5424, CEF payload) to tcp://HOST:PORT or tls://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub export_syslog: Vec<String>,
    /// Write each new alert as an OCSF Detection Finding: appended to a file, or POSTed to
    /// an http(s):// URL.
    #[arg(long, value_name = "FILE|URL")]
    pub export_ocsf: Vec<String>,
    /// Post each new alert to a Slack-compatible incoming webhook.
    #[arg(long, value_name = "URL")]
    pub export_slack: Vec<String>,
    /// Extra CA certificates (PEM) trusted by the exports, beside the system's.
    #[arg(long, value_name = "FILE")]
    pub export_ca: Option<PathBuf>,
}

impl ExportArgs {
    /// The sinks asked for.
    pub fn sinks(&self) -> Result<Vec<Box<dyn export::Sink>>> {
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let ca = self.export_ca.as_deref().map(read).transpose()?;
        let secret = self
            .export_webhook_secret
            .as_deref()
            .map(read)
            .transpose()?;
        if secret.as_ref().is_some_and(|s| s.trim_ascii().is_empty()) {
            bail!("--export-webhook-secret: the file is empty");
        }
        let secret = secret.map(|s| s.trim_ascii().to_vec());
        let client = || export::http_client(ca.as_deref()).map_err(anyhow::Error::from);
        let mut sinks: Vec<Box<dyn export::Sink>> = Vec::new();
        for url in &self.export_webhook {
            sinks.push(Box::new(export::webhook::Webhook::new(
                url,
                secret.clone(),
                client()?,
            )));
        }
        for url in &self.export_syslog {
            sinks.push(Box::new(export::syslog::Syslog::new(url, ca.as_deref())?));
        }
        for target in &self.export_ocsf {
            if target.starts_with("http://") || target.starts_with("https://") {
                sinks.push(Box::new(export::ocsf::Ocsf::http(target, client()?)));
            } else {
                sinks.push(Box::new(export::ocsf::Ocsf::file(PathBuf::from(target))));
            }
        }
        for url in &self.export_slack {
            sinks.push(Box::new(export::slack::Slack::new(url, client()?)));
        }
        Ok(sinks)
    }
}

/// `vigil server token` arguments.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[command(flatten)]
    pub data: DataArgs,
}

/// `vigil server token` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token and print it (shown once; only its digest is kept).
    Create {
        /// A cluster token: writes this cluster's data only (sensors, audit webhook,
        /// scanners).
        #[arg(
            long,
            value_name = "NAME",
            conflicts_with = "admin",
            required_unless_present = "admin"
        )]
        cluster: Option<String>,
        /// An admin token: reads everything (API, dashboard).
        #[arg(long)]
        admin: bool,
        /// The token's name (default: the cluster's name, or `admin`).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke the token with this name.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// Runs `vigil server`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Serve(a) => serve(*a),
        Command::Token(a) => token(a),
    }
}

fn token(args: TokenArgs) -> Result<ExitCode> {
    let store = args.data.open(Duration::from_secs(5))?;
    match args.command {
        TokenCommand::Create {
            cluster,
            admin,
            name,
        } => {
            let role = match (cluster, admin) {
                (Some(c), false) => {
                    check_name(&c)?;
                    Role::Cluster(c)
                }
                (None, true) => Role::Admin,
                _ => bail!("give --cluster NAME or --admin"),
            };
            let name = name.unwrap_or_else(|| match &role {
                Role::Admin => "admin".to_string(),
                Role::Cluster(c) => c.clone(),
            });
            let token = create_token(store.as_ref(), &name, &role)?;
            println!("{token}");
        }
        TokenCommand::List => {
            for t in store.tokens()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.name,
                    t.role,
                    t.cluster.as_deref().unwrap_or("-"),
                    t.created
                );
            }
        }
        TokenCommand::Revoke { name } => {
            if !store.revoke_token(&name)? {
                bail!("no token is named {name:?}");
            }
            eprintln!("vigil: revoked {name:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Makes a token for `role`, stores its digest under `name` and returns the secret.
pub fn create_token(store: &dyn Store, name: &str, role: &Role) -> Result<String> {
    check_name(name)?;
    let token = NewToken::generate()?;
    store.add_token(name, role, &token.digest)?;
    Ok(token.secret)
}

/// Cluster and token names: what people type and scripts match, nothing else.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        bail!("{name:?}: names are 1 to 63 letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

/// The server state for `args` over `store`.
pub fn server(args: &ServeArgs, store: Arc<dyn Store>) -> Result<Server> {
    // Compile the audit rules now, so a bad rules file fails at start, not on the
    // first batch; each cluster then gets its own judge with its own memory.
    args.rules.detector()?;
    let rules = args.rules.clone();
    Ok(Server {
        store,
        windows: Windows {
            dedup_ms: args.dedup_window.max(0) * 1000,
            incident_ms: args.incident_window.max(0) * 1000,
        },
        audit: AuditJudges::new(move || rules.detector().map_err(|e| format!("{e:#}"))),
        ingest_slots: Arc::new(tokio::sync::Semaphore::new(args.max_ingest.max(1))),
        max_body: args.max_body,
    })
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let (addr, tls) = listen::endpoint(
        &args.listen,
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        args.insecure,
    )?;
    let tls = match (&args.client_ca, &args.tls_cert, &args.tls_key) {
        (Some(ca), Some(cert), Some(key)) => {
            Some(listen::tls::server_config_with_client_ca(cert, key, ca)?)
        }
        _ => tls,
    };
    let store = args.data.open(Duration::from_secs(args.db_wait))?;
    report_tokens(store.as_ref(), &args.data)?;
    let retention = Retention {
        events_ms: args.keep_events.max(1) * 24 * 3600 * 1000,
        alerts_ms: args.keep_alerts.max(1) * 24 * 3600 * 1000,
        scans_ms: args.keep_scans.max(1) * 24 * 3600 * 1000,
    };
    let sinks = args.exports.sinks()?;
    let pruner = Pruner::start(Arc::clone(&store), retention)?;
    let exporter = Exporter::start(Arc::clone(&store), sinks, Pacing::default())
        .context("starting the exports")?;
    let jobs = super::server_jobs::Jobs::start(Arc::clone(&store), &args.jobs)?;
    let router = vigil_server::api::router(Arc::new(server(&args, store)?));
    let served = listen::serve_until_signal(addr, tls, move |req| handle(router.clone(), req));
    jobs.stop();
    exporter.stop();
    pruner.stop();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Says how to get a token when there is none yet.
fn report_tokens(store: &dyn Store, data: &DataArgs) -> Result<()> {
    if store.tokens()?.is_empty() {
        let at = match &data.database {
            Some(_) => "--database URL".to_string(),
            None => format!("--data-dir {}", data.data_dir.display()),
        };
        eprintln!(
            "vigil: no tokens yet; make one with `vigil server token create --admin {at}` \
             (and `--cluster NAME` for each cluster)"
        );
    }
    Ok(())
}

/// Answers one request with the API router, its body collected (answers are small JSON
/// pages and the dashboard's files).
pub async fn handle(router: axum::Router, req: Request<Incoming>) -> listen::Reply {
    let response = match router.oneshot(req.map(axum::body::Body::new)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => Response::from_parts(parts, Full::new(collected.to_bytes())),
        Err(e) => {
            tracing::error!("answering: {e}");
            listen::reply::refuse(hyper::StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// Deletes data past its retention once an hour, on a thread of its own.
struct Pruner {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Pruner {
    fn start(store: Arc<dyn Store>, retention: Retention) -> Result<Pruner> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("prune".into())
            .spawn(move || {
                loop {
                    match store.prune(&retention, vigil_server::ingest::now_ms()) {
                        Ok(p) => tracing::info!(
                            events = p.events,
                            alerts = p.alerts,
                            incidents = p.incidents,
                            scans = p.scans,
                            "pruned"
                        ),
                        Err(e) => tracing::warn!("pruning: {e}"),
                    }
                    match stopped.recv_timeout(Duration::from_secs(3600)) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .context("starting the prune thread")?;
        Ok(Pruner { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
