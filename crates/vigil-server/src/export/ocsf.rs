//! OCSF Detection Findings (class 2004), one JSON object per line, appended to a file
//! (for a log shipper to pick up) or POSTed to an HTTP endpoint (Amazon Security Lake's
//! and most XDRs' OCSF ingest). The mapping is `vigil_core::format::ocsf`'s, the same the
//! CLI writes.

use super::{ExportError, Sink, core_alert, post, sink_name};
use crate::store::AlertDetail;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use vigil_core::format::ocsf::{Product, detection_finding};

enum Out {
    File(PathBuf, Option<File>),
    Http(String, reqwest::blocking::Client),
}

/// An OCSF sink.
pub struct Ocsf {
    name: String,
    out: Out,
    product: Product,
}

impl Ocsf {
    /// Appends to the file at `path`.
    pub fn file(path: PathBuf) -> Ocsf {
        Ocsf {
            name: sink_name("ocsf-file", &path.to_string_lossy()),
            out: Out::File(path, None),
            product: Product::vigil(env!("CARGO_PKG_VERSION"), "server"),
        }
    }

    /// POSTs each finding to `url`.
    pub fn http(url: &str, client: reqwest::blocking::Client) -> Ocsf {
        Ocsf {
            name: sink_name("ocsf-http", url),
            out: Out::Http(url.to_string(), client),
            product: Product::vigil(env!("CARGO_PKG_VERSION"), "server"),
        }
    }
}

impl Sink for Ocsf {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &AlertDetail) -> Result<(), ExportError> {
        let finding = detection_finding(&core_alert(alert)?, &self.product);
        let mut line = serde_json::to_vec(&finding).map_err(|e| ExportError::new("encoding", e))?;
        match &mut self.out {
            Out::File(path, file) => {
                if file.is_none() {
                    *file = Some(
                        File::options()
                            .create(true)
                            .append(true)
                            .open(&*path)
                            .map_err(|e| ExportError::new(path.display(), e))?,
                    );
                }
                line.push(b'\n');
                let written = match file.as_mut() {
                    // Synced before the cursor moves: the line survives a crash.
                    Some(f) => f.write_all(&line).and_then(|()| f.sync_data()),
                    None => Ok(()),
                };
                written.map_err(|e| {
                    *file = None;
                    ExportError::new(path.display(), e)
                })
            }
            Out::Http(url, client) => post(client, url, line, &[]),
        }
    }
}
