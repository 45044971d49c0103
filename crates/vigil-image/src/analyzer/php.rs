//! PHP packages (Composer): the lock file `composer.lock` and the record of what is
//! installed, `vendor/composer/installed.json`.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use vigil_core::{Ecosystem, Package};

/// Most packages taken from one file; the rest are dropped with a warning.
const MAX_PACKAGES: usize = 100_000;

/// `composer.lock`: `packages`, and `packages-dev` reported as development dependencies.
pub struct ComposerLock;

impl Analyzer for ComposerLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "composer-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "composer.lock" && !in_vendor_package(file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        #[derive(Deserialize)]
        struct Lock {
            #[serde(default)]
            packages: Option<Vec<Value>>,
            #[serde(default, rename = "packages-dev")]
            packages_dev: Option<Vec<Value>>,
        }
        let lock: Lock = serde_json::from_slice(content)
            .map_err(|e| AnalyzeError::new(format!("invalid composer.lock: {e}")))?;
        let mut out = Collector::new(self.name());
        for (list, dev) in [("packages", false), ("packages-dev", true)] {
            let records = if dev {
                &lock.packages_dev
            } else {
                &lock.packages
            };
            for (i, record) in records.iter().flatten().enumerate() {
                out.add(&format!("{list}[{i}]"), record, |_| dev);
            }
        }
        Ok(out.found)
    }
}

/// True for `vendor/<vendor>/<package>/...`: a lock file a package shipped for its own
/// development, not what the application installed (that is the application's lock and
/// `vendor/composer/installed.json`).
fn in_vendor_package(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts
        .iter()
        .position(|p| *p == "vendor")
        .is_some_and(|i| parts.len() > i + 3)
}

/// `vendor/composer/installed.json`: Composer 1 writes an array of packages, Composer 2
/// `{"packages": [...], "dev": true, "dev-package-names": [...]}`.
pub struct ComposerInstalled;

impl Analyzer for ComposerInstalled {
    fn name(&self) -> &'static str {
        "composer-installed"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.path == "composer/installed.json" || file.path.ends_with("/composer/installed.json")
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Installed {
            V1(Vec<Value>),
            V2 {
                packages: Vec<Value>,
                #[serde(default, rename = "dev-package-names")]
                dev_names: Vec<Value>,
            },
        }
        let installed: Installed = serde_json::from_slice(content).map_err(|e| {
            AnalyzeError::new(format!(
                "invalid installed.json (neither a list of packages nor {{\"packages\": [...]}}): {e}"
            ))
        })?;
        let (records, dev_names) = match installed {
            Installed::V1(records) => (records, HashSet::new()),
            Installed::V2 {
                packages,
                dev_names,
            } => {
                let names: HashSet<String> = dev_names
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                (packages, names)
            }
        };
        let mut out = Collector::new(self.name());
        for (i, record) in records.iter().enumerate() {
            out.add(&format!("packages[{i}]"), record, |name| {
                dev_names.contains(name)
            });
        }
        Ok(out.found)
    }
}

/// One package record; both files use Composer's package schema.
#[derive(Deserialize)]
struct Record {
    name: String,
    version: String,
    #[serde(default)]
    license: Option<Licenses>,
}

/// `"license": ["MIT"]` (what Composer writes) or `"license": "MIT"` (hand edits).
#[derive(Deserialize)]
#[serde(untagged)]
enum Licenses {
    List(Vec<Value>),
    One(String),
    Other(serde::de::IgnoredAny),
}

impl Licenses {
    fn into_vec(self) -> Vec<String> {
        match self {
            Licenses::List(l) => l
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s),
                    _ => None,
                })
                .collect(),
            Licenses::One(s) if !s.is_empty() => vec![s],
            _ => Vec::new(),
        }
    }
}

/// Turns records into packages: warnings for malformed ones, duplicates dropped, count
/// bounded.
struct Collector<'a> {
    found_by: &'a str,
    found: Found,
    seen: HashSet<(String, String)>,
}

impl<'a> Collector<'a> {
    fn new(found_by: &'a str) -> Self {
        Collector {
            found_by,
            found: Found::default(),
            seen: HashSet::new(),
        }
    }

    fn add(&mut self, place: &str, record: &Value, dev: impl Fn(&str) -> bool) {
        if self.found.packages.len() >= MAX_PACKAGES {
            if self.seen.insert((String::new(), String::new())) {
                self.found.warnings.push(format!(
                    "more than {MAX_PACKAGES} packages; the rest were not read"
                ));
            }
            return;
        }
        let record = match Record::deserialize(record) {
            Ok(r) if !r.name.is_empty() && !r.version.is_empty() => r,
            Ok(_) => {
                self.found
                    .warnings
                    .push(format!("{place}: empty name or version; skipped"));
                return;
            }
            Err(e) => {
                self.found.warnings.push(format!("{place}: {e}; skipped"));
                return;
            }
        };
        if !self
            .seen
            .insert((record.name.clone(), record.version.clone()))
        {
            return;
        }
        let is_dev = dev(&record.name);
        let mut pkg = Package::new(
            Ecosystem::Composer,
            record.name,
            record.version,
            self.found_by,
            "",
        );
        pkg.licenses = record.license.map(Licenses::into_vec).unwrap_or_default();
        pkg.dev = is_dev;
        self.found.packages.push(pkg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    fn summary(found: &Found) -> Vec<(String, String, bool, Vec<String>)> {
        found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.dev, p.licenses.clone()))
            .collect()
    }

    #[test]
    fn which_files() {
        assert!(ComposerLock.required(&file("var/www/composer.lock")));
        assert!(ComposerLock.required(&file("vendor/composer.lock")));
        assert!(!ComposerLock.required(&file("var/www/vendor/acme/log/composer.lock")));
        assert!(ComposerInstalled.required(&file("var/www/vendor/composer/installed.json")));
        assert!(!ComposerInstalled.required(&file("var/www/vendor/installed.json")));
        assert!(!ComposerInstalled.required(&file("var/www/vendor/composer/installed.php")));
    }

    #[test]
    fn lock_packages_and_dev_packages() {
        let lock = br#"{"packages":[{"name":"monolog/monolog","version":"3.5.0","license":["MIT"]},
            {"name":"psr/log","version":"3.0.0","license":"MIT"},
            {"name":7,"version":"1.0"}],
          "packages-dev":[{"name":"phpunit/phpunit","version":"10.5.3","license":["BSD-3-Clause"]},
            {"name":"","version":"1"}]}"#;
        let found = ComposerLock
            .analyze(&file("composer.lock"), lock)
            .unwrap_or_default();
        assert_eq!(
            summary(&found),
            [
                (
                    "monolog/monolog".into(),
                    "3.5.0".into(),
                    false,
                    vec!["MIT".into()]
                ),
                ("psr/log".into(), "3.0.0".into(), false, vec!["MIT".into()]),
                (
                    "phpunit/phpunit".into(),
                    "10.5.3".into(),
                    true,
                    vec!["BSD-3-Clause".into()]
                ),
            ]
        );
        assert_eq!(found.packages[0].purl, "pkg:composer/monolog/monolog@3.5.0");
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        assert!(found.warnings[0].starts_with("packages[2]: invalid type"));
        assert_eq!(
            found.warnings[1],
            "packages-dev[1]: empty name or version; skipped"
        );
    }

    #[test]
    fn installed_json_both_generations() {
        let v1 = br#"[{"name":"symfony/console","version":"v5.4.0","license":["MIT"]}]"#;
        let found = ComposerInstalled
            .analyze(&file("vendor/composer/installed.json"), v1)
            .unwrap_or_default();
        assert_eq!(
            summary(&found),
            [(
                "symfony/console".into(),
                "v5.4.0".into(),
                false,
                vec!["MIT".into()]
            )]
        );
        let v2 =
            br#"{"packages":[{"name":"a/b","version":"1.0.0"},{"name":"c/d","version":"2.0.0"}],
            "dev":true,"dev-package-names":["c/d"]}"#;
        let found = ComposerInstalled
            .analyze(&file("vendor/composer/installed.json"), v2)
            .unwrap_or_default();
        let dev: Vec<_> = found.packages.iter().map(|p| p.dev).collect();
        assert_eq!(dev, [false, true]);
    }

    #[test]
    fn malformed_files_are_errors() {
        for bad in [
            &b"{"[..],
            b"{\"packages\": 5}",
            b"\"x\"",
            b"[[[[[[",
            &[b'['; 10_000][..],
        ] {
            assert!(
                ComposerInstalled
                    .analyze(&file("composer/installed.json"), bad)
                    .is_err()
            );
        }
        assert!(
            ComposerLock
                .analyze(&file("composer.lock"), b"{\"packages\": {}}")
                .is_err()
        );
        let empty = ComposerLock
            .analyze(&file("composer.lock"), b"{}")
            .unwrap_or_default();
        assert!(empty.is_empty());
    }
}
