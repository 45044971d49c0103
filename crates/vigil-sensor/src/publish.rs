//! The publisher: sealed spool segments to the Vigil server, outbound only.
//!
//! Each segment becomes one batch for `POST /api/v1/ingest/sensor`, gzip-compressed, with
//! the cluster's bearer token (and a client certificate when the server asks for mutual
//! TLS), through `HTTPS_PROXY` when set (`NO_PROXY` honoured). The batch id is the spool's
//! id and the segment's lane and number, so a batch sent again after a lost answer or a
//! restart is stored once. A segment is deleted only after a 200; 429, 5xx and network
//! errors are retried with back-off; any other refusal sets the segment aside in
//! `rejected/` and says why, so one bad batch cannot stop the rest.

use crate::spool::{Lane, Segment, Spool};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where and how to publish.
#[derive(Clone)]
pub struct Config {
    /// The server's base URL (`https://vigil.example:8443`).
    pub server: String,
    /// The cluster token.
    pub token: String,
    /// The node's name, in every batch.
    pub node: String,
    /// Extra CA certificates (PEM) to trust.
    pub ca: Option<Vec<u8>>,
    /// A client certificate and key (PEM, concatenated) for mutual TLS.
    pub identity: Option<Vec<u8>>,
    /// First wait after a failure; doubled up to `max_backoff`.
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Wait when there is nothing to send.
    pub idle: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "publish::Config({}, node {})", self.server, self.node)
    }
}

/// Why publishing cannot start.
#[derive(Debug, thiserror::Error)]
#[error("setting up the publisher: {0}")]
pub struct SetupError(String);

/// What the publisher has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Batches the server acknowledged.
    pub batches: AtomicU64,
    /// Lines (events and alerts) in them.
    pub lines: AtomicU64,
    /// Failed attempts (retried).
    pub failures: AtomicU64,
    /// Segments set aside as refused.
    pub rejected: AtomicU64,
    /// Sum of acknowledged requests' latencies, microseconds.
    pub latency_us_sum: AtomicU64,
    /// Latency of the last acknowledged request, microseconds.
    pub latency_us_last: AtomicU64,
}

/// How one attempt ended.
enum Outcome {
    Sent,
    Retry(String),
    Refused(String),
}

/// The publisher over a shared spool.
pub struct Publisher {
    config: Config,
    http: reqwest::blocking::Client,
    spool: Arc<Mutex<Spool>>,
    /// Its counters.
    pub stats: Arc<Stats>,
}

impl Publisher {
    /// A publisher sending `spool`'s sealed segments per `config`.
    pub fn new(config: Config, spool: Arc<Mutex<Spool>>) -> Result<Publisher, SetupError> {
        if !(config.server.starts_with("https://") || config.server.starts_with("http://")) {
            return Err(SetupError(format!(
                "{:?}: the server's address starts with https:// (or http://)",
                config.server
            )));
        }
        let mut b = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("vigil-sensor/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.ca {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| SetupError(format!("the CA: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &config.identity {
            b = b.identity(
                reqwest::Identity::from_pem(pem)
                    .map_err(|e| SetupError(format!("the client certificate: {e}")))?,
            );
        }
        let http = b.build().map_err(|e| SetupError(e.to_string()))?;
        Ok(Publisher {
            config,
            http,
            spool,
            stats: Arc::new(Stats::default()),
        })
    }

    /// The batch body of a segment: its lines as the batch's events or alerts, copied as
    /// they are (each is one JSON value), gzip-compressed.
    fn body(
        &self,
        spool_id: &str,
        segment: &Segment,
        text: &[u8],
    ) -> std::io::Result<(Vec<u8>, u64)> {
        let lane = match segment.lane {
            Lane::Alerts => "alerts",
            Lane::Events => "events",
        };
        let mut json = Vec::with_capacity(text.len() + 200);
        write!(
            json,
            "{{\"batch_id\":{},\"node\":{},\"{lane}\":[",
            serde_json::to_string(&format!("{spool_id}-{lane}-{}", segment.seq))?,
            serde_json::to_string(&self.config.node)?
        )?;
        let mut lines = 0u64;
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if lines > 0 {
                json.push(b',');
            }
            json.extend_from_slice(line);
            lines += 1;
        }
        json.extend_from_slice(b"]}");
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
        gz.write_all(&json)?;
        Ok((gz.finish()?, lines))
    }

    fn attempt(&self, body: Vec<u8>) -> Outcome {
        let url = format!(
            "{}/api/v1/ingest/sensor",
            self.config.server.trim_end_matches('/')
        );
        let started = Instant::now();
        let sent = self
            .http
            .post(&url)
            .bearer_auth(&self.config.token)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send();
        match sent {
            Err(e) => Outcome::Retry(format!("{url}: {e}")),
            Ok(res) => {
                let status = res.status();
                let answer = res.text().unwrap_or_default();
                if status.is_success() {
                    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    self.stats.latency_us_sum.fetch_add(us, Ordering::Relaxed);
                    self.stats.latency_us_last.store(us, Ordering::Relaxed);
                    Outcome::Sent
                } else if status.as_u16() == 429 || status.is_server_error() {
                    Outcome::Retry(format!("{url}: {status} {answer}"))
                } else {
                    Outcome::Refused(format!("{url}: {status} {answer}"))
                }
            }
        }
    }

    /// Sends what is sealed, oldest alerts first; returns how many segments went (or were
    /// set aside), or the failure that stopped it (to retry after a wait).
    pub fn publish_once(&self) -> Result<usize, String> {
        let (segments, id) = {
            let spool = self
                .spool
                .lock()
                .map_err(|_| "the spool lock is poisoned")?;
            (
                spool.sealed().map_err(|e| e.to_string())?,
                spool.id().to_string(),
            )
        };
        let mut done = 0;
        for segment in segments {
            let text = match std::fs::read(&segment.path) {
                Ok(t) => t,
                // Deleted meanwhile (dropped for room): nothing to send.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{}: {e}", segment.path.display())),
            };
            let (body, lines) = self.body(&id, &segment, &text).map_err(|e| e.to_string())?;
            match self.attempt(body) {
                Outcome::Sent => {
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.stats.lines.fetch_add(lines, Ordering::Relaxed);
                    let mut spool = self
                        .spool
                        .lock()
                        .map_err(|_| "the spool lock is poisoned")?;
                    spool.remove(&segment).map_err(|e| e.to_string())?;
                }
                Outcome::Refused(why) => {
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(segment = %segment.path.display(), "the server refused a batch; set aside in rejected/: {why}");
                    let mut spool = self
                        .spool
                        .lock()
                        .map_err(|_| "the spool lock is poisoned")?;
                    spool.reject(&segment).map_err(|e| e.to_string())?;
                }
                Outcome::Retry(why) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(why);
                }
            }
            done += 1;
        }
        Ok(done)
    }

    /// Publishes until `stop` is set, then once more so what was sealed at the stop goes
    /// too (when the server is there).
    pub fn run(&self, stop: &AtomicBool) {
        let mut wait = self.config.backoff;
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            match self.publish_once() {
                Ok(n) => {
                    wait = self.config.backoff;
                    if stopping {
                        return;
                    }
                    if n == 0 {
                        sleep_unless(stop, self.config.idle);
                    }
                }
                Err(why) => {
                    if stopping {
                        tracing::warn!("stopping with batches unsent (kept in the spool): {why}");
                        return;
                    }
                    tracing::warn!("publishing failed, retrying in {wait:?}: {why}");
                    sleep_unless(stop, wait);
                    wait = (wait * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}

/// Sleeps `d` in short steps, waking early when `stop` is set.
fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
}
