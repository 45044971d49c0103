//! Exports: alerts sent on to the SIEM/XDR a security team already uses.
//!
//! Each sink ([`Sink`]) runs on a thread of its own ([`Exporter`]) that reads the alerts
//! it has not delivered from the store, in id order, sends them, and only then moves its
//! cursor: delivery is at least once, and a sink that is away is retried with back-off
//! while the alerts wait in the database. Folded repeats are not exported again; the
//! first sighting is.
//!
//! Sinks: a generic JSON webhook signed with HMAC-SHA256 ([`webhook`]), syslog RFC 5424
//! over TCP or TLS with a CEF payload ([`syslog`]), OCSF Detection Findings as JSON lines
//! to a file or an HTTP endpoint ([`ocsf`]), and a Slack-compatible webhook ([`slack`]).

pub mod ocsf;
pub mod slack;
pub mod syslog;
pub mod webhook;

use crate::store::{AlertDetail, Store};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A delivery that failed; the exporter retries it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

impl ExportError {
    /// An error with context.
    pub fn new(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ExportError {
        ExportError(format!("{what}: {e}"))
    }
}

/// Somewhere alerts go.
pub trait Sink: Send {
    /// A stable name for the sink's cursor: its kind and a digest of where it sends (the
    /// target may hold a secret, as Slack webhook URLs do).
    fn name(&self) -> &str;
    /// Delivers `alert`; returns once the receiver has it (or says why not).
    fn send(&mut self, alert: &AlertDetail) -> Result<(), ExportError>;
}

/// The cursor name of a sink of `kind` sending to `target`.
pub fn sink_name(kind: &str, target: &str) -> String {
    let digest = Sha256::digest(target.as_bytes());
    let short: String = hex::encode(digest).chars().take(16).collect();
    format!("{kind}:{short}")
}

/// How an exporter paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Wait between looks at the store when there is nothing new.
    pub idle: Duration,
    /// First wait after a failed delivery; doubled on each further failure.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// Alerts read from the store at once.
    pub batch: usize,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            idle: Duration::from_secs(1),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(300),
            batch: 100,
        }
    }
}

/// The threads that run the sinks, until [`Exporter::stop`].
pub struct Exporter {
    stops: Vec<Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Exporter {
    /// Starts one thread per sink.
    pub fn start(
        store: Arc<dyn Store>,
        sinks: Vec<Box<dyn Sink>>,
        pacing: Pacing,
    ) -> std::io::Result<Exporter> {
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for sink in sinks {
            let (stop, stopped) = std::sync::mpsc::channel();
            let store = Arc::clone(&store);
            let thread = std::thread::Builder::new()
                .name(format!("export-{}", sink.name()))
                .spawn(move || run(store.as_ref(), sink, pacing, &stopped))?;
            stops.push(stop);
            threads.push(thread);
        }
        Ok(Exporter { stops, threads })
    }

    /// Stops every sink after its current delivery.
    pub fn stop(self) {
        for s in &self.stops {
            let _ = s.send(());
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Waits `d`; false when asked to stop meanwhile.
fn wait(stopped: &Receiver<()>, d: Duration) -> bool {
    matches!(stopped.recv_timeout(d), Err(RecvTimeoutError::Timeout))
}

fn run(store: &dyn Store, mut sink: Box<dyn Sink>, pacing: Pacing, stopped: &Receiver<()>) {
    let name = sink.name().to_string();
    let mut retry = pacing.first_retry;
    loop {
        let pending = match store.export_pending(&name, pacing.batch) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(sink = %name, "reading alerts to export: {e}");
                if !wait(stopped, retry) {
                    return;
                }
                retry = (retry * 2).min(pacing.max_retry);
                continue;
            }
        };
        if pending.is_empty() {
            if !wait(stopped, pacing.idle) {
                return;
            }
            continue;
        }
        for alert in &pending {
            loop {
                match sink.send(alert).and_then(|()| {
                    store
                        .export_delivered(&name, alert.row.id)
                        .map_err(|e| ExportError::new("recording the delivery", e))
                }) {
                    Ok(()) => {
                        retry = pacing.first_retry;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(sink = %name, alert = alert.row.id, "export failed, retrying in {retry:?}: {e}");
                        if !wait(stopped, retry) {
                            return;
                        }
                        retry = (retry * 2).min(pacing.max_retry);
                    }
                }
            }
            if let Ok(()) | Err(std::sync::mpsc::TryRecvError::Disconnected) = stopped.try_recv() {
                return;
            }
        }
    }
}

/// An HTTP client for sinks: the system's roots plus `extra_ca`, HTTPS_PROXY/NO_PROXY
/// honoured (reqwest reads them), a timeout so a stuck receiver is retried.
pub fn http_client(extra_ca: Option<&[u8]>) -> Result<reqwest::blocking::Client, ExportError> {
    let mut b = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = extra_ca {
        for cert in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ExportError::new("reading the export CA", e))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build()
        .map_err(|e| ExportError::new("setting up the HTTP client", e))
}

/// POSTs `body` to `url` and checks for a 2xx answer.
pub fn post(
    client: &reqwest::blocking::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> Result<(), ExportError> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().map_err(|e| ExportError::new(url, e))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(ExportError(format!("{url}: answered {}", res.status())))
    }
}

/// The alert as `vigil_core::Alert`, for formats built on it.
pub fn core_alert(a: &AlertDetail) -> Result<vigil_core::Alert, ExportError> {
    let mut alert: vigil_core::Alert = serde_json::from_value(a.alert.clone())
        .map_err(|e| ExportError::new("reading the stored alert", e))?;
    if alert.cluster.is_empty() {
        alert.cluster = a.row.cluster.clone();
    }
    Ok(alert)
}
