//! RPM packages: the rpm database in each of its three on-disk formats, read in-process
//! (no `rpm` binary, no librpm).
//!
//! - `sqlite`: `rpmdb.sqlite` (rpm ≥ 4.16: Fedora 33+, RHEL 9 and its rebuilds, Amazon
//!   Linux 2023, CBL-Mariner 2);
//! - `bdb`: the Berkeley DB hash file `Packages` (RHEL/CentOS ≤ 8, Amazon Linux 2);
//! - `ndb`: rpm's own `Packages.db` (SUSE, openSUSE).
//!
//! All three store the same thing: one header blob per installed package, read by
//! [`parse_header_blob`]. The format is told from the file's first bytes, not its name.
//! Every reader feeds blobs to one `Collector`, which holds the limits that keep a
//! hostile database from costing more than a small multiple of its own size.

mod bdb;
mod header;
mod ndb;
mod sqlite;

pub use header::{HeaderError, RpmHeader, parse_header_blob};

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use std::ops::ControlFlow;
use vigil_core::{Ecosystem, Package, SourcePackage};

/// Folders that hold the rpmdb: the classic one, the one rpm ≥ 4.16 prefers (openSUSE,
/// Fedora), and the one Amazon Linux and CBL-Mariner images use.
const DB_DIRS: [&str; 3] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/"];
/// The package database file of each format.
const DB_FILES: [&str; 3] = ["Packages", "rpmdb.sqlite", "Packages.db"];

/// Most packages read from one database (a full RHEL host has a few thousand).
const MAX_PACKAGES: usize = 200_000;
/// Largest header blob accepted (big packages' headers are a few MB).
const MAX_HEADER_BYTES: usize = 64 << 20;
/// Most owned files kept from one database, and their total bytes.
const MAX_OWNED_FILES: usize = 4_000_000;
const MAX_OWNED_BYTES: usize = 512 << 20;
/// Most distinct warnings kept from one database; the rest are counted.
const MAX_WARNINGS: usize = 50;

/// The installed-package database of rpm-based distributions.
pub struct RpmDb;

impl Analyzer for RpmDb {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        DB_DIRS.iter().any(|dir| {
            file.path
                .strip_prefix(dir)
                .is_some_and(|name| DB_FILES.contains(&name))
        })
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let mut out = Collector::new(content.len());
        if content.is_empty() {
            // rpm leaves empty placeholder files behind when it converts a database.
            return Ok(Found::default());
        } else if content.starts_with(sqlite::MAGIC) {
            sqlite::read(content, &mut out)?;
        } else if content.starts_with(ndb::MAGIC) {
            ndb::read(content, &mut out)?;
        } else if bdb::is_bdb(content) {
            bdb::read(content, &mut out)?;
        } else {
            let head: String = content
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
            return Err(AnalyzeError::new(format!(
                "not an rpm database (SQLite, Berkeley DB hash or ndb): starts with {head}"
            )));
        }
        Ok(out.finish())
    }
}

/// Collects packages from header blobs, within the limits.
pub(crate) struct Collector {
    found: Found,
    records: usize,
    owned_bytes: usize,
    /// Header bytes that may still be parsed: legitimate blobs never overlap, so their
    /// total stays under the file size; a forged database that points many records at
    /// the same bytes runs out of this instead of running for hours.
    budget: usize,
    /// Warnings past [`MAX_WARNINGS`].
    dropped_warnings: usize,
    owned_capped: bool,
}

impl Collector {
    fn new(file_len: usize) -> Collector {
        Collector {
            found: Found::default(),
            records: 0,
            owned_bytes: 0,
            budget: file_len.saturating_mul(2).saturating_add(1 << 20),
            dropped_warnings: 0,
            owned_capped: false,
        }
    }

    /// Records a problem that makes the answer partial.
    fn warn(&mut self, message: String) {
        if self.found.warnings.len() < MAX_WARNINGS {
            self.found.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// Reads one header blob; `place` names the record in warnings (`package 12`).
    /// Breaks when a limit is reached, after saying so.
    fn header(&mut self, place: &dyn std::fmt::Display, blob: &[u8]) -> ControlFlow<()> {
        if self.records >= MAX_PACKAGES {
            self.warn(format!(
                "more than {MAX_PACKAGES} records; the rest were not read"
            ));
            return ControlFlow::Break(());
        }
        self.records += 1;
        if blob.len() > MAX_HEADER_BYTES {
            self.warn(format!(
                "{place}: header of {} bytes is larger than {MAX_HEADER_BYTES}; skipped",
                blob.len()
            ));
            return ControlFlow::Continue(());
        }
        let Some(left) = self.budget.checked_sub(blob.len()) else {
            self.warn(format!(
                "{place}: records add up to more than twice the file's size (overlapping \
                 records?); the rest were not read"
            ));
            return ControlFlow::Break(());
        };
        self.budget = left;
        let header = match parse_header_blob(blob) {
            Ok(h) => h,
            Err(e) => {
                self.warn(format!("{place}: {e}; skipped"));
                return ControlFlow::Continue(());
            }
        };
        // The public keys rpm trusts are stored as fake packages; they install nothing.
        if header.name == "gpg-pubkey" {
            return ControlFlow::Continue(());
        }
        for problem in &header.problems {
            self.warn(format!("{place} ({}): {problem}", header.name));
        }
        let (pkg, problem) = package(&header);
        if let Some(problem) = problem {
            self.warn(format!("{place} ({}): {problem}", header.name));
        }
        self.found.packages.push(pkg);
        self.own(header.files);
        ControlFlow::Continue(())
    }

    fn own(&mut self, files: Vec<String>) {
        for f in files {
            if self.found.owned_files.len() >= MAX_OWNED_FILES
                || self.owned_bytes + f.len() > MAX_OWNED_BYTES
            {
                if !self.owned_capped {
                    self.owned_capped = true;
                    self.warn(format!(
                        "more than {MAX_OWNED_FILES} files or {MAX_OWNED_BYTES} bytes of \
                         paths; the file list is incomplete"
                    ));
                }
                return;
            }
            self.owned_bytes += f.len();
            self.found.owned_files.push(f);
        }
    }

    fn finish(mut self) -> Found {
        if self.dropped_warnings > 0 {
            let n = self.dropped_warnings;
            self.found
                .warnings
                .push(format!("{n} more problems like the ones above"));
        }
        self.found
    }
}

/// The version as Vigil reports it: `[EPOCH:]VERSION-RELEASE`.
///
/// The epoch is written only when it is present and not 0, as Trivy does (it keeps the
/// epoch as a number, 0 when absent, and prints it only when non-zero) and as `rpm -q`
/// does for packages without one. Syft differs only for an explicit `Epoch: 0`, which
/// it writes as `0:`; rpm compares a missing epoch as 0, so both spellings name the same
/// version, and the shorter one keeps a package's version identical whether or not its
/// spec file said `Epoch: 0`.
pub(crate) fn evr(epoch: Option<u32>, version: &str, release: &str) -> String {
    match epoch {
        Some(e) if e != 0 => format!("{e}:{version}-{release}"),
        _ => format!("{version}-{release}"),
    }
}

/// Splits a source rpm file name into name and `VERSION-RELEASE`:
/// `openssl-3.0.7-24.el9.src.rpm` -> (`openssl`, `3.0.7-24.el9`). Like yum's
/// `splitFilename` (and Trivy): the last `.` ends the architecture, the last two `-`
/// before it start the release and the version.
pub(crate) fn split_source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".rpm").unwrap_or(file);
    let (nvr, _arch) = stem.rsplit_once('.')?;
    let (nv, _release) = nvr.rsplit_once('-')?;
    let (name, _version) = nv.rsplit_once('-')?;
    let vr = nvr.get(name.len() + 1..)?;
    (!name.is_empty() && !vr.starts_with('-')).then_some((name, vr))
}

/// The package for a header, and a problem to report if its source is unreadable.
fn package(h: &RpmHeader) -> (Package, Option<String>) {
    let version = evr(h.epoch, &h.version, &h.release);
    let mut pkg = Package::new(Ecosystem::Rpm, &h.name, &version, "rpm", "");
    pkg.location.path = String::new();
    pkg.arch = h.arch.clone();
    pkg.licenses = h.license.iter().cloned().collect();
    let mut problem = None;
    if let Some(srpm) = &h.source_rpm {
        match split_source_rpm(srpm) {
            // SOURCERPM carries no epoch; the binary's is the source's (one spec file
            // sets both), as Trivy assumes too, so source versions compare with the
            // epoch-qualified fixed versions of distribution advisories.
            Some((name, vr)) => {
                pkg.source = Some(SourcePackage {
                    name: name.to_string(),
                    version: match h.epoch {
                        Some(e) if e != 0 => format!("{e}:{vr}"),
                        _ => vr.to_string(),
                    },
                })
            }
            None => problem = Some(format!("unreadable SOURCERPM {srpm:?}")),
        }
    }
    (pkg, problem)
}

#[cfg(test)]
mod tests {
    use super::header::tests::sample;
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    #[test]
    fn wants_each_database_in_each_folder() {
        for dir in DB_DIRS {
            for name in DB_FILES {
                assert!(
                    RpmDb.required(&file(&format!("{dir}{name}"))),
                    "{dir}{name}"
                );
            }
        }
        for path in [
            "var/lib/rpm/Index.db",
            "var/lib/rpm/rpmdb.sqlite-wal",
            "var/lib/rpm/Name",
            "srv/var/lib/rpm/Packages",
            "var/lib/rpm/x/Packages",
        ] {
            assert!(!RpmDb.required(&file(path)), "{path}");
        }
    }

    #[test]
    fn versions_and_sources() {
        assert_eq!(evr(Some(1), "3.0.7", "24.el9"), "1:3.0.7-24.el9");
        assert_eq!(evr(Some(0), "0.9", "1"), "0.9-1");
        assert_eq!(evr(None, "0.9", "1"), "0.9-1");
        assert_eq!(
            split_source_rpm("openssl-3.0.7-24.el9.src.rpm"),
            Some(("openssl", "3.0.7-24.el9"))
        );
        assert_eq!(
            split_source_rpm("python3-pip-21.3.1-1.fc36.nosrc.rpm"),
            Some(("python3-pip", "21.3.1-1.fc36"))
        );
        for bad in [
            "openssl.src.rpm",
            "x-1.src.rpm",
            "",
            "-1-2.src.rpm",
            "nodots",
        ] {
            assert_eq!(split_source_rpm(bad), None, "{bad}");
        }
        let (pkg, problem) = package(&parse_header_blob(&sample("openssl-libs")).unwrap());
        assert!(problem.is_none());
        assert_eq!(pkg.version, "1:3.0.7-24.el9");
        let src = pkg.source.unwrap();
        assert_eq!(
            (src.name.as_str(), src.version.as_str()),
            ("openssl", "1:3.0.7-24.el9")
        );
        assert_eq!(pkg.licenses, ["Apache-2.0"]);
        assert_eq!(pkg.location.path, "");
    }

    #[test]
    fn unknown_and_empty_files() {
        let err = RpmDb
            .analyze(&file("var/lib/rpm/Packages"), b"hello world, not a db")
            .unwrap_err();
        assert!(err.0.contains("not an rpm database"), "{err}");
        let empty = RpmDb.analyze(&file("var/lib/rpm/Packages"), b"").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn collector_limits() {
        let blob = sample("p");
        let mut c = Collector::new(blob.len());
        assert!(c.header(&"record 1", &blob).is_continue());
        assert!(c.header(&"record 2", &blob).is_continue());
        // The same bytes offered again and again exhaust the budget.
        let mut n = 0;
        while c.header(&"again", &blob).is_continue() {
            n += 1;
        }
        assert!(n <= 2 + (1 << 20) / blob.len(), "{n}");
        let found = c.finish();
        assert!(found.warnings.iter().any(|w| w.contains("twice the file")));

        let mut c = Collector::new(1 << 30);
        for i in 0..MAX_WARNINGS + 10 {
            let _ = c.header(&format!("record {i}"), b"junk");
        }
        let found = c.finish();
        assert_eq!(found.warnings.len(), MAX_WARNINGS + 1);
        assert!(found.warnings[MAX_WARNINGS].starts_with("10 more"));
    }
}
