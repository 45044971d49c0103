//! Poetry's `poetry.lock` (TOML): one `[[package]]` table per locked distribution.
//!
//! Dev-only packages: Poetry before 1.5 writes `category = "dev"`; later versions dropped
//! the field, and Poetry 2 writes the dependency groups that need the package
//! (`groups = ["dev"]`): a package outside the `main` group is dev. Lock files of Poetry
//! 1.5–1.8 record neither, so every package is reported as production. Names are as the
//! lock spells them (Poetry writes them normalized: `pyyaml`).

use super::lock::{Collector, Lenient, Text};
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use vigil_core::Ecosystem;

/// Reads Poetry lock files.
pub struct PoetryLock;

impl Analyzer for PoetryLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "poetry-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "poetry.lock"
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| AnalyzeError::new(format!("poetry.lock is not UTF-8: {e}")))?;
        let lock: LockFile = toml::from_str(text)
            .map_err(|e| AnalyzeError::new(format!("invalid poetry.lock: {e}")))?;
        let mut out = Collector::new(Ecosystem::Pypi, self.name());
        for (i, package) in lock.package.iter().enumerate() {
            let place = || format!("package #{}", i + 1);
            let Lenient::Ok(p) = package else {
                out.warn(format!("{}: not a table", place()));
                continue;
            };
            let dev = match (&p.category, &p.groups) {
                (Text(Some(c)), _) => c == "dev",
                (_, Some(groups)) if !groups.0.is_empty() => !groups.0.iter().any(|g| g == "main"),
                _ => false,
            };
            out.add(
                &place,
                p.name.as_deref().unwrap_or_default(),
                p.version.as_deref().unwrap_or_default(),
                dev,
            );
        }
        Ok(out.finish())
    }
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<Lenient<Package>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Package {
    name: Text,
    version: Text,
    category: Text,
    groups: Option<Strings>,
}

/// A list of strings; any other value, or non-string items, count as nothing (and a
/// package whose groups say nothing is not marked dev).
#[derive(Default)]
struct Strings(Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strings, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            List(Vec<Text>),
            Other(serde::de::IgnoredAny),
        }
        Ok(match Any::deserialize(d)? {
            Any::List(items) => Strings(items.into_iter().filter_map(|t| t.0).collect()),
            Any::Other(_) => Strings(Vec::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    fn run(text: &str) -> Result<Found, AnalyzeError> {
        PoetryLock.analyze(&file("app/poetry.lock"), text.as_bytes())
    }

    #[test]
    fn categories_and_groups() {
        let old = r#"
[[package]]
name = "pytest"
version = "7.4.4"
category = "dev"
optional = false

[[package]]
name = "requests"
version = "2.31.0"
category = "main"

[metadata]
lock-version = "2.0"
"#;
        assert_eq!(
            summary(&run(old).unwrap()),
            ["pytest@7.4.4+dev", "requests@2.31.0"]
        );
        let new = r#"
[[package]]
name = "pyyaml"
version = "6.0.1"
groups = ["main"]

[[package]]
name = "iniconfig"
version = "2.1.0"
groups = ["dev", "test"]

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main", "dev"]
markers = "sys_platform == \"win32\""

[[package]]
name = "odd"
version = "1.0"
groups = "dev"

[[package]]
name = "local-lib"
version = "0.1.0"
groups = ["main"]
develop = true

[package.source]
type = "directory"
url = "libs/local"
"#;
        assert_eq!(
            summary(&run(new).unwrap()),
            [
                "colorama@0.4.6",
                "iniconfig@2.1.0+dev",
                "local-lib@0.1.0",
                "odd@1.0",
                "pyyaml@6.0.1"
            ]
        );
    }

    #[test]
    fn bad_input() {
        assert!(run("[[package]\nname = 1").is_err());
        assert!(run("package = 5").is_err());
        let found = run("package = [1, {name = \"a\", version = \"1\"}, {name = \"b\"}]").unwrap();
        assert_eq!(summary(&found), ["a@1"]);
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        assert!(PoetryLock.analyze(&file("poetry.lock"), b"\xff").is_err());
    }
}
