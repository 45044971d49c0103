//! Pipenv's `Pipfile.lock` (JSON): `default` holds the production packages, `develop` the
//! development ones, each `name: { "version": "==1.0.0", ... }`. A package in both is
//! production. Entries without a version (VCS checkouts, editable paths such as the
//! project itself) name no release and are skipped. Names are the lock's keys (Pipenv
//! writes them lower-case).

use super::lock::{Collector, Lenient, Text};
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigil_core::Ecosystem;

/// Reads Pipenv lock files.
pub struct PipfileLock;

impl Analyzer for PipfileLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "pipenv-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "Pipfile.lock"
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let lock: LockFile = serde_json::from_slice(content)
            .map_err(|e| AnalyzeError::new(format!("invalid Pipfile.lock: {e}")))?;
        let mut out = Collector::new(Ecosystem::Pypi, self.name());
        for (section, entries, dev) in [
            ("default", &lock.default, false),
            ("develop", &lock.develop, true),
        ] {
            let entries = match entries {
                None => continue,
                Some(Lenient::Ok(e)) => e,
                Some(Lenient::Bad(what)) => {
                    out.warn(format!("{section}: {what} instead of an object"));
                    continue;
                }
            };
            for (name, entry) in entries {
                let place = || format!("{section}.{name}");
                let Lenient::Ok(entry) = entry else {
                    out.warn(format!("{}: not an object", place()));
                    continue;
                };
                let Some(version) = entry.version.as_deref() else {
                    continue;
                };
                match version
                    .strip_prefix("===")
                    .or_else(|| version.strip_prefix("=="))
                {
                    Some(v) => out.add(&place, name, v, dev),
                    None => out.warn(format!("{}: version {version:?} is not pinned", place())),
                }
            }
        }
        Ok(out.finish())
    }
}

type Section = Option<Lenient<BTreeMap<String, Lenient<Entry>>>>;

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    default: Section,
    #[serde(default)]
    develop: Section,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    version: Text,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    #[test]
    fn sections() {
        let text = r#"{
          "_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6, "requires": {}, "sources": []},
          "default": {
            "requests": {"hashes": ["sha256:a"], "index": "pypi", "version": "==2.31.0"},
            "pyyaml": {"version": "==6.0.1", "markers": "python_version >= '3.6'"},
            "app": {"editable": true, "path": "."},
            "vcs": {"git": "https://example.invalid/x.git", "ref": "abc"}
          },
          "develop": {
            "pytest": {"version": "==7.4.4"},
            "pyyaml": {"version": "==6.0.1"},
            "loose": {"version": "*"},
            "bad": 3
          }
        }"#;
        let found = PipfileLock
            .analyze(&file("app/Pipfile.lock"), text.as_bytes())
            .unwrap();
        assert_eq!(
            summary(&found),
            ["pytest@7.4.4+dev", "pyyaml@6.0.1", "requests@2.31.0"]
        );
        assert_eq!(
            found.warnings,
            [
                "develop.bad: not an object",
                "develop.loose: version \"*\" is not pinned"
            ]
        );
    }

    #[test]
    fn bad_input() {
        let a = PipfileLock;
        assert!(
            a.analyze(&file("Pipfile.lock"), b"{\"default\": {")
                .is_err()
        );
        let found = a
            .analyze(&file("Pipfile.lock"), b"{\"default\": []}")
            .unwrap();
        assert_eq!(found.warnings, ["default: a list instead of an object"]);
    }
}
