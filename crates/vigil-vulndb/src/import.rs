//! `vigil db import PATH…`: files, folders and OSV `all.zip` archives into the store.
//!
//! Every document is recognized by content (OSV record, Alpine secdb, Debian tracker),
//! parsed on worker threads, and written in one transaction, so an interrupted import
//! leaves the previous database as it was. A document that does not parse is skipped with
//! a warning naming it; it never aborts the import.

use crate::model::Advisory;
use crate::osv::{self, Parsed};
use crate::store::{Database, DbError};
use crate::{alpine, debian};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

/// The largest single document read (the Debian tracker export is ~80 MB today).
const MAX_DOCUMENT: u64 = 1 << 30;
/// The largest record inside an archive (OSV records are a few KB; the largest are ~1 MB).
const MAX_ARCHIVE_ENTRY: u64 = 64 << 20;
/// Documents up to this size queue for the parsing workers; larger ones the reader parses
/// itself, so the queue holds at most `QUEUE` times this many bytes.
const QUEUED_DOCUMENT: usize = 16 << 20;
/// Documents waiting for a worker.
const QUEUE: usize = 16;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Advisories written, per feed.
    pub written: BTreeMap<String, u64>,
    /// Withdrawn OSV records skipped.
    pub withdrawn: u64,
    /// Documents skipped, with the reason, each naming its file.
    pub skipped: Vec<String>,
    /// Ecosystems records named that Vigil does not know, with how often.
    pub unknown_ecosystems: BTreeMap<String, u64>,
}

impl ImportSummary {
    /// Advisories written in total.
    pub fn total(&self) -> u64 {
        self.written.values().sum()
    }
}

/// One document to parse: where it came from (for messages) and its bytes.
struct Document {
    name: String,
    bytes: Vec<u8>,
}

/// What a worker made of a document.
enum Outcome {
    Osv(Advisory, Vec<String>),
    Withdrawn,
    /// A whole feed (secdb file, tracker export) whose advisories merge by id.
    Feed(String, Vec<Advisory>),
    Skipped(String),
}

/// Imports every document under `paths` into `db` in one transaction.
pub fn import_paths(db: &mut Database, paths: &[PathBuf]) -> Result<ImportSummary, DbError> {
    let origin = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    run(db, paths, &origin, None)
}

/// A whole OSV feed (one ecosystem's `all.zip`) replacing what `feed` held, with the HTTP
/// validators to send on the next update.
pub fn import_feed(
    db: &mut Database,
    feed: &str,
    archive: &Path,
    origin: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<ImportSummary, DbError> {
    let whole = WholeFeed {
        feed,
        etag,
        last_modified,
    };
    run(db, &[archive.to_owned()], origin, Some(&whole))
}

/// A feed imported whole, replacing its previous contents.
struct WholeFeed<'a> {
    feed: &'a str,
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
}

fn run(
    db: &mut Database,
    paths: &[PathBuf],
    origin: &str,
    whole: Option<&WholeFeed<'_>>,
) -> Result<ImportSummary, DbError> {
    let mut summary = ImportSummary::default();
    let (doc_tx, doc_rx) = mpsc::sync_channel::<Document>(QUEUE);
    let (out_tx, out_rx) = mpsc::sync_channel::<(String, Outcome)>(QUEUE);
    let doc_rx = Mutex::new(doc_rx);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let writer = db.writer()?;
    if let Some(whole) = whole {
        writer.clear_source(whole.feed)?;
    }
    let mut feeds: BTreeMap<String, BTreeMap<String, Advisory>> = BTreeMap::new();
    let mut osv_feeds: BTreeMap<String, u64> = BTreeMap::new();
    let result: Result<(), DbError> = std::thread::scope(|scope| {
        let documents = Documents {
            queue: doc_tx,
            parsed: out_tx.clone(),
        };
        let reader = scope.spawn(move || {
            let mut skipped = Vec::new();
            for path in paths {
                read_path(path, &documents, &mut skipped);
            }
            skipped
        });
        for _ in 0..workers {
            let out_tx = out_tx.clone();
            let doc_rx = &doc_rx;
            scope.spawn(move || {
                loop {
                    let next = doc_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(doc)) = next else { break };
                    let outcome = parse_document(&doc);
                    if out_tx.send((doc.name, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        for (name, outcome) in out_rx {
            match outcome {
                Outcome::Osv(advisory, unknown) => {
                    for eco in unknown {
                        *summary.unknown_ecosystems.entry(eco).or_default() += 1;
                    }
                    let feed = whole.map_or_else(|| osv_feed(&advisory), |w| w.feed.to_owned());
                    writer.put(&feed, &advisory)?;
                    *osv_feeds.entry(feed).or_default() += 1;
                }
                Outcome::Withdrawn => summary.withdrawn += 1,
                Outcome::Feed(feed, advisories) => {
                    let merged = feeds.entry(feed).or_default();
                    for advisory in advisories {
                        match merged.get_mut(&advisory.id) {
                            Some(existing) => existing.affected.extend(advisory.affected),
                            None => {
                                merged.insert(advisory.id.clone(), advisory);
                            }
                        }
                    }
                }
                Outcome::Skipped(reason) => summary.skipped.push(format!("{name}: {reason}")),
            }
        }
        let skipped = reader.join().unwrap_or_default();
        summary.skipped.extend(skipped);
        Ok(())
    });
    result?;
    for (feed, advisories) in feeds {
        // A secdb or tracker feed is always imported whole: replace what it held.
        writer.clear_source(&feed)?;
        for advisory in advisories.values() {
            writer.put(&feed, advisory)?;
        }
        writer.mark_source(&feed, origin, None, None)?;
        summary.written.insert(feed, advisories.len() as u64);
    }
    for (feed, count) in osv_feeds {
        writer.mark_source(&feed, origin, None, None)?;
        summary.written.insert(feed, count);
    }
    if let Some(whole) = whole {
        // Marked even when the archive held nothing, so the validators are remembered.
        writer.mark_source(whole.feed, origin, whole.etag, whole.last_modified)?;
    }
    writer.commit()?;
    summary.skipped.sort();
    Ok(summary)
}

/// The feed an OSV record is filed under: `osv:` and the ecosystem of its first affected
/// package (`osv:PyPI`), as OSV publishes one archive per ecosystem.
fn osv_feed(advisory: &Advisory) -> String {
    let eco = advisory
        .affected
        .first()
        .map(|a| a.ecosystem.split(':').next().unwrap_or_default())
        .unwrap_or("none");
    format!("osv:{eco}")
}

/// Where the reader hands documents: small ones to the workers through a bounded queue,
/// large ones (a tracker export) parsed on the spot, so memory stays bounded however many
/// large files an import names.
struct Documents {
    queue: mpsc::SyncSender<Document>,
    parsed: mpsc::SyncSender<(String, Outcome)>,
}

impl Documents {
    /// False once the import has stopped listening.
    fn send(&self, doc: Document) -> bool {
        if doc.bytes.len() > QUEUED_DOCUMENT {
            let outcome = parse_document(&doc);
            self.parsed.send((doc.name, outcome)).is_ok()
        } else {
            self.queue.send(doc).is_ok()
        }
    }
}

/// Sends every document under `path` (a file, a folder, or a zip archive).
fn read_path(path: &Path, tx: &Documents, skipped: &mut Vec<String>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            skipped.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    if meta.is_dir() {
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_file() && is_document(e.path()) => {
                    read_file(e.path(), tx, skipped)
                }
                Ok(_) => {}
                Err(e) => skipped.push(format!("{}: {e}", path.display())),
            }
        }
    } else {
        read_file(path, tx, skipped);
    }
}

fn is_document(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "yaml" | "yml" | "zip")
    )
}

fn read_file(path: &Path, tx: &Documents, skipped: &mut Vec<String>) {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return skipped.push(format!("{name}: {e}")),
    };
    if is_zip(&file) {
        return read_zip(file, &name, tx, skipped);
    }
    match read_bounded(file, MAX_DOCUMENT) {
        Ok(bytes) => {
            tx.send(Document { name, bytes });
        }
        Err(e) => skipped.push(format!("{name}: {e}")),
    }
}

/// A zip archive starts with a local file header (or, empty, an end-of-directory record),
/// whatever the file is called.
fn is_zip(file: &std::fs::File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 4];
    matches!(file.read_at(&mut magic, 0), Ok(4))
        && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06")
}

/// OSV's per-ecosystem `all.zip`: one JSON record per entry.
fn read_zip(file: std::fs::File, name: &str, tx: &Documents, skipped: &mut Vec<String>) {
    let mut archive = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
        Ok(a) => a,
        Err(e) => return skipped.push(format!("{name}: not a zip archive: {e}")),
    };
    for i in 0..archive.len() {
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                skipped.push(format!("{name}: entry {i}: {e}"));
                continue;
            }
        };
        if !entry.is_file() {
            continue;
        }
        let inner = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(e) => {
                skipped.push(format!("{name}: entry {i}: {e}"));
                continue;
            }
        };
        if !is_document(Path::new(&inner)) {
            continue;
        }
        let entry_name = format!("{name}!{inner}");
        match read_bounded(entry, MAX_ARCHIVE_ENTRY) {
            Ok(bytes) => {
                if !tx.send(Document {
                    name: entry_name,
                    bytes,
                }) {
                    return;
                }
            }
            Err(e) => skipped.push(format!("{entry_name}: {e}")),
        }
    }
}

fn read_bounded(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {} MiB limit",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// Recognizes a document by its content and parses it.
fn parse_document(doc: &Document) -> Outcome {
    let is_yaml = doc.name.ends_with(".yaml") || doc.name.ends_with(".yml");
    let head = &doc.bytes[..doc.bytes.len().min(64 << 10)];
    let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    if is_yaml && has(b"secfixes") && has(b"distroversion") {
        return match alpine::parse(&doc.bytes) {
            Ok(advisories) => Outcome::Feed(alpine_feed(&doc.bytes), advisories),
            Err(e) => Outcome::Skipped(format!("not an Alpine secdb document: {e}")),
        };
    }
    if !is_yaml && has(b"\"releases\"") && !has(b"\"affected\"") {
        return match debian::parse(doc.bytes.as_slice()) {
            Ok(advisories) => Outcome::Feed(debian::SOURCE.into(), advisories),
            Err(e) => Outcome::Skipped(format!("not a Debian security tracker export: {e}")),
        };
    }
    match osv::parse(&doc.bytes, is_yaml, "") {
        Ok(Parsed::Advisory(mut advisory, unknown)) => {
            advisory.source = osv::source_name(&advisory.id);
            Outcome::Osv(*advisory, unknown)
        }
        Ok(Parsed::Withdrawn(_)) => Outcome::Withdrawn,
        Err(e) => Outcome::Skipped(e.to_string()),
    }
}

/// `alpine-secdb:v3.11/main`: each secdb file is its own feed, replaced whole.
fn alpine_feed(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}:{}/{}",
        alpine::SOURCE,
        field("distroversion:"),
        field("reponame:")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document too large to queue is parsed by the reader itself and still imported.
    #[test]
    fn large_and_small_documents_are_both_imported() {
        let dir = tempfile::tempdir().unwrap();
        let record = |id: &str, details: &str| {
            format!(
                r#"{{"id":"{id}","details":"{details}","affected":[{{"package":{{"ecosystem":"npm","name":"p"}},
                "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"1.0.0"}}]}}]}}]}}"#
            )
        };
        let big = "x".repeat(QUEUED_DOCUMENT + 1);
        std::fs::write(dir.path().join("big.json"), record("GHSA-big", &big)).unwrap();
        std::fs::write(dir.path().join("small.json"), record("GHSA-small", "y")).unwrap();
        let mut db = Database::create(&dir.path().join("db.sqlite")).unwrap();
        let summary = import_paths(&mut db, &[dir.path().to_owned()]).unwrap();
        assert_eq!(summary.written.get("osv:npm"), Some(&2), "{summary:?}");
        assert!(summary.skipped.is_empty(), "{summary:?}");
    }
}
