//! Rust crates pinned by `Cargo.lock` files (formats v1 to v4: one `[[package]]` table per
//! crate; v1 also had a `[root]` table for the root package and a `[metadata]` table of
//! checksums, v3 and v4 a top-level `version`).
//!
//! As Trivy's Cargo parser, every `[[package]]` is reported, whatever its `source`:
//! crates.io or another registry, git, and path or workspace members, which have no
//! `source` (they are the project's own crates). Trivy also drops crates reachable only
//! through `dev-dependencies` when a `Cargo.toml` sits beside the lock; an analyzer here
//! sees one file at a time, so every locked crate is reported with `dev = false`.
//!
//! Lock files inside Cargo's download caches (`.cargo/registry/`, `.cargo/git/`) and inside
//! `cargo vendor` output (`vendor/<crate>/...`) are skipped: they are the lock files of
//! crates' own upstream builds (crates.io packages include one), not of anything built into
//! the image, and would report crates that are not there.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use vigil_core::{Ecosystem, Package};

/// Largest lock file read (big workspaces have lock files of about 1 MiB).
const MAX_BYTES: usize = 16 << 20;
/// Most packages read from one lock file.
const MAX_PACKAGES: usize = 100_000;
/// Most warnings kept for one file.
const MAX_WARNINGS: usize = 20;
/// The newest lock format this reader knows.
const NEWEST_FORMAT: i64 = 4;

/// Reads `Cargo.lock` files.
pub struct CargoLock;

impl Analyzer for CargoLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        if file.file_name() != "Cargo.lock" {
            return false;
        }
        let path = file.path;
        let in_cache = [".cargo/registry/", ".cargo/git/"]
            .iter()
            .any(|c| path.starts_with(c) || path.contains(&format!("/{c}")));
        // `vendor/<crate>/Cargo.lock` and deeper; `vendor/Cargo.lock` itself is a project.
        let components: Vec<&str> = path.split('/').collect();
        let vendored = components.iter().rev().skip(2).any(|c| *c == "vendor");
        !in_cache && !vendored
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        if content.len() > MAX_BYTES {
            return Err(AnalyzeError::new(format!(
                "Cargo.lock of {} bytes is over the {MAX_BYTES} byte limit; not read",
                content.len()
            )));
        }
        let text = std::str::from_utf8(content)
            .map_err(|e| AnalyzeError::new(format!("Cargo.lock is not UTF-8: {e}")))?;
        let lock: Lock = toml::from_str(text)
            .map_err(|e| AnalyzeError::new(format!("invalid Cargo.lock: {e}")))?;
        let mut found = Found::default();
        let mut problems = 0usize;
        if let Some(v) = lock.version
            && !(1..=NEWEST_FORMAT).contains(&v)
        {
            found.warnings.push(format!(
                "unknown Cargo.lock format version {v}; read as version {NEWEST_FORMAT}"
            ));
        }
        let entries = lock.root.into_iter().chain(lock.package);
        for (i, entry) in entries.enumerate() {
            if found.packages.len() >= MAX_PACKAGES {
                found.warnings.push(format!(
                    "more than {MAX_PACKAGES} packages; the rest are not read"
                ));
                break;
            }
            let name = entry.get("name").and_then(toml::Value::as_str);
            let version = entry.get("version").and_then(toml::Value::as_str);
            match (name, version) {
                (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => {
                    found.packages.push(Package::new(
                        Ecosystem::Cargo,
                        name,
                        version,
                        self.name(),
                        "",
                    ));
                }
                _ => {
                    problems += 1;
                    if problems <= MAX_WARNINGS {
                        found.warnings.push(format!(
                            "package entry {} has no name or version; skipped",
                            i + 1
                        ));
                    }
                }
            }
        }
        if problems > MAX_WARNINGS {
            found.warnings.push(format!(
                "{} more package entries without a name or version",
                problems - MAX_WARNINGS
            ));
        }
        Ok(found)
    }
}

/// The parts of a lock file Vigil reads; entries stay loose so that one malformed entry
/// becomes a warning rather than failing the file.
#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    root: Option<toml::Table>,
    #[serde(default)]
    package: Vec<toml::Table>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 100,
            mode: 0o644,
        }
    }

    fn analyze(text: &str) -> Result<Found, AnalyzeError> {
        CargoLock.analyze(&file("app/Cargo.lock"), text.as_bytes())
    }

    #[test]
    fn which_lock_files() {
        let a = CargoLock;
        assert!(a.required(&file("Cargo.lock")));
        assert!(a.required(&file("src/app/Cargo.lock")));
        assert!(a.required(&file("srv/vendor/Cargo.lock")));
        assert!(!a.required(&file("src/app/Cargo.toml")));
        assert!(!a.required(&file(
            "root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/itoa-1.0.11/Cargo.lock"
        )));
        assert!(!a.required(&file(".cargo/git/checkouts/x-123/abc/Cargo.lock")));
        assert!(!a.required(&file("app/vendor/itoa/Cargo.lock")));
        assert!(!a.required(&file("app/vendor/windows/crates/x/Cargo.lock")));
    }

    #[test]
    fn reads_v4_with_every_source_kind() {
        let found = analyze(
            r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "forked"]

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://example.com/forked.git#0123456789abcdef"

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"
"#,
        )
        .unwrap();
        let got: Vec<_> = found.packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            got,
            [
                "pkg:cargo/app@0.1.0",
                "pkg:cargo/forked@0.2.0",
                "pkg:cargo/itoa@1.0.11"
            ]
        );
        assert!(found.warnings.is_empty());
    }

    #[test]
    fn bad_entries_warn_and_bad_files_fail() {
        let found = analyze(
            "version = 9\n[[package]]\nname = \"a\"\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        assert_eq!(found.packages.len(), 1);
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        assert!(analyze("[[package]\n").is_err());
        assert!(analyze("package = 3\n").is_err());
        assert!(CargoLock.analyze(&file("Cargo.lock"), b"\xff\xfe").is_err());
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(analyze(&deep).is_err());
        assert!(analyze("").unwrap().is_empty());
    }
}
