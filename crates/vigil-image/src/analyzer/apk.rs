//! Alpine packages: `lib/apk/db/installed` (Alpine, Wolfi, Chainguard).

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use vigil_core::{Ecosystem, Package, SourcePackage};

/// Reads the apk installed database.
pub struct ApkInstalled;

impl Analyzer for ApkInstalled {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.path == "lib/apk/db/installed"
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let mut found = Found::default();
        let mut record = Record::default();
        let mut dir = String::new();
        for (n, line) in super::lines(&text).enumerate() {
            if line.is_empty() {
                record.finish(n + 1, &mut found);
                dir.clear();
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "P" => record.name = Some(value.to_string()),
                "V" => record.version = Some(value.to_string()),
                "A" => record.arch = Some(value.to_string()),
                "o" => record.origin = Some(value.to_string()),
                "L" => record.license = Some(value.to_string()),
                "F" => dir = value.to_string(),
                "R" => found.owned_files.push(if dir.is_empty() {
                    format!("/{value}")
                } else {
                    format!("/{dir}/{value}")
                }),
                _ => {}
            }
        }
        record.finish(text.lines().count(), &mut found);
        Ok(found)
    }
}

/// The fields of one package record gathered so far.
#[derive(Default)]
struct Record {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
}

impl Record {
    /// Turns the gathered fields into a package (or a warning) and starts afresh.
    fn finish(&mut self, line: usize, found: &mut Found) {
        let record = std::mem::take(self);
        match (record.name, record.version) {
            (Some(name), Some(version)) => {
                let mut pkg = Package::new(Ecosystem::Apk, &name, &version, "apk", "");
                pkg.arch = record.arch;
                pkg.source = Some(SourcePackage {
                    name: record.origin.unwrap_or(name),
                    version,
                });
                pkg.licenses = record.license.into_iter().collect();
                found.packages.push(pkg);
            }
            (None, None) => {}
            (name, _) => found.warnings.push(format!(
                "record ending at line {line} ({}) lacks P: or V:; skipped",
                name.as_deref().unwrap_or("unnamed")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_origins_and_files() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
P:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nF:usr/lib\nR:libcrypto.so.3\n\nP:half\n";
        let found = ApkInstalled
            .analyze(
                &FileInfo {
                    path: "lib/apk/db/installed",
                    size: 0,
                    mode: 0o644,
                },
                db.as_bytes(),
            )
            .unwrap_or_default();
        assert_eq!(found.packages.len(), 2);
        let crypto = &found.packages[1];
        assert_eq!(
            (crypto.name.as_str(), crypto.version.as_str()),
            ("libcrypto3", "3.1.4-r5")
        );
        assert_eq!(
            crypto.source.as_ref().map(|s| s.name.as_str()),
            Some("openssl")
        );
        assert_eq!(crypto.licenses, ["Apache-2.0"]);
        assert_eq!(
            found.owned_files,
            ["/lib/ld-musl-x86_64.so.1", "/usr/lib/libcrypto.so.3"]
        );
        assert_eq!(found.warnings.len(), 1);
    }
}
