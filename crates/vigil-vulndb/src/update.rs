//! `vigil db update`: fetch OSV's per-ecosystem `all.zip` archives and swap in a new
//! database atomically.
//!
//! Archives are downloaded to temporary files first (conditional requests with the
//! `ETag`/`Last-Modified` remembered from the last update, so an unchanged archive costs
//! one round trip; transient failures retried with backoff). Only when every download has
//! finished is a copy of the current database rewritten and renamed over it, so a failed
//! or killed update leaves the previous database exactly as it was.

use crate::import::{self, ImportSummary};
use crate::store::{Database, DbError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public OSV bucket.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The OSV ecosystems Vigil matches packages against.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "Wolfi",
    "Chainguard",
    "Rocky Linux",
    "AlmaLinux",
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
];

/// What to fetch and from where.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Base URL; archives are at `{base}/{ecosystem}/all.zip`.
    pub base_url: String,
    /// OSV ecosystem names.
    pub ecosystems: Vec<String>,
    /// Attempts per archive for transient failures (connection errors, 5xx, 429).
    pub attempts: u32,
    /// Longest a whole archive download may take (connecting: 30 s).
    pub timeout: Duration,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            base_url: DEFAULT_BASE_URL.into(),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect(),
            attempts: 3,
            timeout: Duration::from_secs(20 * 60),
        }
    }
}

/// Progress reports for a progress bar.
pub enum Progress<'a> {
    /// A download started; `total` is the Content-Length when known.
    Start {
        /// The ecosystem.
        ecosystem: &'a str,
        /// Bytes expected.
        total: Option<u64>,
    },
    /// More bytes arrived.
    Bytes(u64),
    /// The download finished (or was not needed).
    Done,
}

/// Why an update failed. The previous database is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// A download failed after every attempt.
    #[error("downloading {url}: {message}")]
    Download {
        /// The archive URL.
        url: String,
        /// The last failure.
        message: String,
    },
    /// Writing the new database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What an update did, per ecosystem.
#[derive(Debug, Default)]
pub struct UpdateSummary {
    /// Ecosystems whose archive had not changed (HTTP 304).
    pub unchanged: Vec<String>,
    /// The import of the archives that changed.
    pub imported: ImportSummary,
}

struct Downloaded {
    ecosystem: String,
    file: tempfile::NamedTempFile,
    etag: Option<String>,
    last_modified: Option<String>,
    url: String,
}

/// Updates the database at `path` (creating it when missing).
pub fn update(
    path: &Path,
    options: &UpdateOptions,
    progress: &dyn Fn(Progress<'_>),
) -> Result<UpdateSummary, UpdateError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| io_err(dir, source))?;
    remove_stale_temporaries(dir);
    let current = match path.is_file().then(|| Database::open(path)).transpose() {
        // A database of an older layout is rebuilt from scratch rather than refused.
        Err(DbError::Version { found, .. }) => {
            tracing::warn!(found, "rebuilding a database of an older layout");
            None
        }
        other => other?,
    };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(options.timeout)
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpdateError::Client(e.to_string()))?;
    let mut summary = UpdateSummary::default();
    let mut downloads = Vec::new();
    for ecosystem in &options.ecosystems {
        let feed = format!("osv:{ecosystem}");
        let (etag, last_modified) = match &current {
            Some(db) => db.validators(&feed)?,
            None => (None, None),
        };
        let url = format!(
            "{}/{}/all.zip",
            options.base_url.trim_end_matches('/'),
            encode_segment(ecosystem)
        );
        match download(
            &client,
            &url,
            dir,
            etag,
            last_modified,
            options,
            ecosystem,
            progress,
        )? {
            Some(d) => downloads.push(d),
            None => summary.unchanged.push(ecosystem.clone()),
        }
    }
    if downloads.is_empty() {
        return Ok(summary);
    }
    // Build the new database beside the old one, then rename it into place.
    let staged = tempfile::Builder::new()
        .prefix(".vulndb-update-")
        .tempfile_in(dir)
        .map_err(|source| io_err(dir, source))?;
    if let Some(db) = &current {
        let mut from = std::fs::File::open(db.path()).map_err(|source| io_err(path, source))?;
        std::io::copy(&mut from, &mut staged.as_file()).map_err(|source| io_err(path, source))?;
    }
    drop(current);
    {
        let mut db = Database::create(staged.path())?;
        for d in &downloads {
            let feed = format!("osv:{}", d.ecosystem);
            let imported = import::import_feed(
                &mut db,
                &feed,
                d.file.path(),
                &d.url,
                d.etag.as_deref(),
                d.last_modified.as_deref(),
            )?;
            merge_summary(&mut summary.imported, imported);
        }
    }
    staged
        .as_file()
        .sync_all()
        .map_err(|source| io_err(staged.path(), source))?;
    staged.persist(path).map_err(|e| io_err(path, e.error))?;
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn download(
    client: &reqwest::blocking::Client,
    url: &str,
    dir: &Path,
    etag: Option<String>,
    last_modified: Option<String>,
    options: &UpdateOptions,
    ecosystem: &str,
    progress: &dyn Fn(Progress<'_>),
) -> Result<Option<Downloaded>, UpdateError> {
    let mut last_error = String::new();
    for attempt in 0..options.attempts.max(1) {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 << attempt.min(6)));
            tracing::warn!(url, attempt = attempt + 1, error = %last_error, "retrying download");
        }
        let mut request = client.get(url);
        if let Some(etag) = &etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                last_error = error_chain(&e);
                continue;
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            progress(Progress::Done);
            return Ok(None);
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            last_error = format!("HTTP {status}");
            continue;
        }
        if !status.is_success() {
            return Err(UpdateError::Download {
                url: url.into(),
                message: format!("HTTP {status}"),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (new_etag, new_modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let total = response.content_length();
        progress(Progress::Start { ecosystem, total });
        let mut file = tempfile::Builder::new()
            .prefix(".osv-download-")
            .suffix(".zip")
            .tempfile_in(dir)
            .map_err(|source| io_err(dir, source))?;
        match copy_body(&mut response, file.as_file_mut(), progress) {
            Ok(written) if total.is_none_or(|t| t == written) => {
                progress(Progress::Done);
                return Ok(Some(Downloaded {
                    ecosystem: ecosystem.into(),
                    file,
                    etag: new_etag,
                    last_modified: new_modified,
                    url: url.into(),
                }));
            }
            Ok(written) => {
                last_error = format!("connection closed after {written} of {total:?} bytes")
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(UpdateError::Download {
        url: url.into(),
        message: last_error,
    })
}

/// Temporary files a killed update left behind (an hour old: no update still running takes
/// them for its own).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(".osv-download-") || name.starts_with(".vulndb-update-");
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if ours && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn copy_body(
    from: &mut impl Read,
    to: &mut std::fs::File,
    progress: &dyn Fn(Progress<'_>),
) -> std::io::Result<u64> {
    let mut buf = vec![0; 256 << 10];
    let mut written = 0;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        to.write_all(buf.get(..n).unwrap_or_default())?;
        written += n as u64;
        progress(Progress::Bytes(n as u64));
    }
    to.flush()?;
    Ok(written)
}

/// Percent-encodes what a path segment cannot hold (`Rocky Linux` -> `Rocky%20Linux`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

fn merge_summary(into: &mut ImportSummary, from: ImportSummary) {
    into.written.extend(from.written);
    into.withdrawn += from.withdrawn;
    into.skipped.extend(from.skipped);
    for (eco, n) in from.unknown_ecosystems {
        *into.unknown_ecosystems.entry(eco).or_default() += n;
    }
}

fn io_err(path: &Path, source: std::io::Error) -> UpdateError {
    UpdateError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_names_are_encoded_for_urls() {
        assert_eq!(encode_segment("Rocky Linux"), "Rocky%20Linux");
        assert_eq!(encode_segment("crates.io"), "crates.io");
    }
}
