//! The client side of ingest: what scanners and sensors use to send to a `vigil server`.
//!
//! Bodies go gzip-compressed with the cluster's bearer token; answers that mean "try
//! again" (429, 503, a connection that failed) are retried with back-off, and anything
//! else is reported with the server's own message. `HTTPS_PROXY`/`NO_PROXY` are honoured.

use crate::store::Ingested;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::time::Duration;

/// Why a send failed for good.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused the data (4xx other than 429); retrying will not help.
    #[error("the server refused it ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's `error` message.
        message: String,
    },
    /// The server stayed unreachable or busy through every attempt.
    #[error("the server could not be reached after {attempts} attempts: {last}")]
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The client could not be set up or the body encoded.
    #[error("{0}")]
    Local(String),
}

/// A connection to one server with one token.
pub struct Client {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
    /// Attempts per send (at least 1).
    pub attempts: u32,
    /// First wait between attempts; doubled each time.
    pub backoff: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.base)
    }
}

impl Client {
    /// A client for the server at `base` (`https://vigil.example:8443`), trusting the
    /// system's roots and `extra_ca` (PEM).
    pub fn new(base: &str, token: &str, extra_ca: Option<&[u8]>) -> Result<Client, SendError> {
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(SendError::Local(format!(
                "{base:?}: the server's address starts with https:// (or http:// on loopback)"
            )));
        }
        let http = crate::export::http_client(extra_ca).map_err(|e| SendError::Local(e.0))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            http,
            attempts: 5,
            backoff: Duration::from_millis(500),
        })
    }

    /// POSTs `body` (JSON) to `path` (`/api/v1/ingest/...`), gzip-compressed.
    pub fn send(&self, path: &str, body: &[u8]) -> Result<Ingested, SendError> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(body)
            .map_err(|e| SendError::Local(format!("compressing: {e}")))?;
        let compressed = gz
            .finish()
            .map_err(|e| SendError::Local(format!("compressing: {e}")))?;
        let url = format!("{}{path}", self.base);
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            if attempt > 1 {
                std::thread::sleep(wait);
                wait *= 2;
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(compressed.clone())
                .send();
            let res = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{url}: {e}");
                    continue;
                }
            };
            let status = res.status().as_u16();
            let ok = res.status().is_success();
            let answer = res.bytes().unwrap_or_default();
            if ok {
                return serde_json::from_slice(&answer)
                    .map_err(|e| SendError::Local(format!("reading the answer: {e}")));
            }
            let message = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_default();
            if status == 429 || status >= 500 {
                last = format!("{url}: {status} {message}");
                continue;
            }
            return Err(SendError::Refused { status, message });
        }
        Err(SendError::Unreachable {
            attempts: self.attempts.max(1),
            last,
        })
    }

    /// Sends an image's vulnerability report.
    pub fn send_image(&self, report: &vigil_core::VulnReport) -> Result<Ingested, SendError> {
        let body = serde_json::to_vec(report).map_err(|e| SendError::Local(e.to_string()))?;
        self.send("/api/v1/ingest/images", &body)
    }

    /// Sends a posture scan.
    pub fn send_posture(&self, report: &vigil_core::PostureReport) -> Result<Ingested, SendError> {
        let body = serde_json::to_vec(report).map_err(|e| SendError::Local(e.to_string()))?;
        self.send("/api/v1/ingest/posture", &body)
    }
}
