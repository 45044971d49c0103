//! npm's `package-lock.json` (and `npm-shrinkwrap.json`), lockfile versions 1 to 3.
//!
//! - v2 and v3 list every installed folder under `packages`, keyed by its path
//!   (`node_modules/a/node_modules/b`). The root (`""`) is the application itself and is
//!   skipped. Workspace folders (`packages/lib`) are reached through their `link: true`
//!   entry under `node_modules/`, which takes its version from the folder it points to, as
//!   Trivy does. Dependencies nested under a workspace folder
//!   (`packages/lib/node_modules/x`) are installed packages and are kept (Trivy drops them).
//!   Bundled dependencies (`inBundle`) are installed too and are kept.
//! - v1 nests `dependencies` inside `dependencies`; the walk is iterative and stops at
//!   [`MAX_DEPTH`] (the JSON parser already refuses nesting deeper than 128).
//!
//! `dev: true` marks development-only packages; `devOptional` (dev in some places,
//! optional in others) may be installed in production and is not dev.

use super::lock::{Collector, Flag, Lenient, Text, under_node_modules};
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigil_core::Ecosystem;

/// Deepest v1 `dependencies` nesting followed.
const MAX_DEPTH: usize = 32;

/// Reads npm lock files.
pub struct NpmLock;

impl Analyzer for NpmLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "npm-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        matches!(
            file.file_name(),
            "package-lock.json" | "npm-shrinkwrap.json"
        ) && !under_node_modules(file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let lock: LockFile = serde_json::from_slice(content)
            .map_err(|e| AnalyzeError::new(format!("invalid package-lock.json: {e}")))?;
        let mut out = Collector::new(Ecosystem::Npm, self.name());
        let version = lock.lockfile_version.as_deref().unwrap_or("1");
        match (&lock.packages, &lock.dependencies) {
            (Some(packages), _) if version != "1" => read_packages(packages, &mut out),
            (_, Some(deps)) => read_v1(deps, &mut out),
            (Some(packages), None) => read_packages(packages, &mut out),
            (None, None) => {}
        }
        Ok(out.finish())
    }
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Text,
    #[serde(default)]
    packages: Option<BTreeMap<String, Lenient<Entry>>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, Lenient<V1Dep>>>,
}

/// One folder of a v2/v3 lock file.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    /// Present when the package name differs from the folder name (aliases, workspaces).
    name: Text,
    version: Text,
    resolved: Text,
    dev: Flag,
    link: Flag,
}

/// One dependency of a v1 lock file.
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1Dep {
    version: Text,
    dev: Flag,
    dependencies: Lenient<BTreeMap<String, Lenient<V1Dep>>>,
}

/// v2/v3: the `packages` map.
fn read_packages(packages: &BTreeMap<String, Lenient<Entry>>, out: &mut Collector) {
    for (path, entry) in packages {
        // The root and workspace folders: the application's own code.
        let Some((_, folder_name)) = path.rsplit_once("node_modules/") else {
            continue;
        };
        let entry = match entry {
            Lenient::Ok(e) => e,
            Lenient::Bad(what) => {
                out.warn(format!("packages[{path:?}]: {what} instead of an object"));
                continue;
            }
        };
        let (name, version) = if entry.link.0 {
            // A link to a workspace (or `file:` folder) inside the project.
            let Some(target) = entry
                .resolved
                .as_deref()
                .and_then(|r| packages.get(r))
                .and_then(Lenient::ok)
            else {
                out.warn(format!(
                    "packages[{path:?}]: link to a folder not in the lock"
                ));
                continue;
            };
            let name = entry.name.as_deref().or(target.name.as_deref());
            (name.unwrap_or(folder_name), target.version.as_deref())
        } else {
            let name = entry.name.as_deref().unwrap_or(folder_name);
            (name, entry.version.as_deref())
        };
        add(
            out,
            &|| format!("packages[{path:?}]"),
            name,
            version,
            entry.dev.0,
        );
    }
}

/// v1: nested `dependencies`, walked with an explicit stack.
fn read_v1(deps: &BTreeMap<String, Lenient<V1Dep>>, out: &mut Collector) {
    let mut stack = vec![(deps, 1usize)];
    let mut too_deep = false;
    while let Some((map, depth)) = stack.pop() {
        for (name, dep) in map {
            let dep = match dep {
                Lenient::Ok(d) => d,
                Lenient::Bad(what) => {
                    out.warn(format!("dependencies.{name}: {what} instead of an object"));
                    continue;
                }
            };
            let version = dep.version.as_deref();
            // Aliases record `npm:<real name>@<version>`.
            match version.and_then(|v| v.strip_prefix("npm:")) {
                Some(alias) => match split_name_version(alias) {
                    Some((real, v)) => add(
                        out,
                        &|| format!("dependencies.{name}"),
                        real,
                        Some(v),
                        dep.dev.0,
                    ),
                    None => out.warn(format!("dependencies.{name}: bad alias {alias:?}")),
                },
                None => add(
                    out,
                    &|| format!("dependencies.{name}"),
                    name,
                    version,
                    dep.dev.0,
                ),
            }
            if let Lenient::Ok(children) = &dep.dependencies {
                if depth < MAX_DEPTH {
                    stack.push((children, depth + 1));
                } else {
                    too_deep = true;
                }
            }
        }
    }
    if too_deep {
        out.warn(format!(
            "dependencies nested deeper than {MAX_DEPTH} levels were not read"
        ));
    }
}

/// Adds a registry package. Versions that are not versions — `file:`/`link:` folders, git
/// and tarball URLs (v1 records those in `version`) — name no registry release and are
/// skipped, as Trivy does for yarn and pnpm.
fn add(
    out: &mut Collector,
    place: &dyn Fn() -> String,
    name: &str,
    version: Option<&str>,
    dev: bool,
) {
    match version {
        Some(v) if is_non_registry(v) => {}
        Some(v) => out.add(place, name, v, dev),
        None => out.warn(format!("{}: no version", place())),
    }
}

/// True for version fields that are URLs or local paths rather than versions.
pub(crate) fn is_non_registry(version: &str) -> bool {
    version.contains(':') || version.contains('/')
}

/// `name@version` with an optional `@scope/` in the name.
pub(crate) fn split_name_version(s: &str) -> Option<(&str, &str)> {
    let at = s.get(1..)?.find('@')? + 1;
    let (name, version) = (s.get(..at)?, s.get(at + 1..)?);
    let valid_name = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, n)| !scope.is_empty() && !n.is_empty()),
        None => !name.is_empty(),
    } && !name.contains(char::is_whitespace);
    (valid_name && !version.is_empty()).then_some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    fn run(json: &str) -> Found {
        NpmLock
            .analyze(&file("app/package-lock.json"), json.as_bytes())
            .unwrap()
    }

    #[test]
    fn which_files() {
        assert!(NpmLock.required(&file("app/package-lock.json")));
        assert!(NpmLock.required(&file("npm-shrinkwrap.json")));
        assert!(!NpmLock.required(&file("app/node_modules/x/package-lock.json")));
        assert!(!NpmLock.required(&file("app/node_modules/.package-lock.json")));
    }

    #[test]
    fn v3_packages_links_aliases_and_dev() {
        let found = run(r#"{
          "lockfileVersion": 3,
          "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/debug": {"version": "4.3.4"},
            "node_modules/debug/node_modules/ms": {"version": "2.1.2"},
            "node_modules/ms": {"version": "2.1.3", "dev": true},
            "node_modules/semver": {"version": "7.5.4", "dev": true},
            "node_modules/@babel/core": {"version": "7.23.0", "devOptional": true},
            "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
            "node_modules/bundler/node_modules/inner": {"version": "1.0.0", "inBundle": true},
            "node_modules/lib": {"resolved": "packages/lib", "link": true},
            "packages/lib": {"name": "lib", "version": "0.1.0"},
            "packages/lib/node_modules/is-number": {"version": "7.0.0"},
            "node_modules/gitdep": {"version": "1.0.0", "resolved": "git+ssh://git@example.invalid/x.git#abc"}
          }
        }"#);
        assert_eq!(
            summary(&found),
            [
                "@babel/core@7.23.0",
                "debug@4.3.4",
                "gitdep@1.0.0",
                "inner@1.0.0",
                "is-number@7.0.0",
                "lib@0.1.0",
                "ms@2.1.2",
                "ms@2.1.3+dev",
                "semver@7.5.4+dev",
                "string-width@4.2.3",
            ]
        );
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        assert_eq!(found.packages[0].purl, "pkg:npm/%40babel/core@7.23.0");
    }

    #[test]
    fn v1_nested_aliases_and_local_versions() {
        let found = run(r#"{
          "lockfileVersion": 1,
          "dependencies": {
            "debug": {"version": "4.3.4", "requires": {"ms": "2.1.2"},
                      "dependencies": {"ms": {"version": "2.1.2"}}},
            "ms": {"version": "2.1.3"},
            "humanize-ms": {"version": "1.2.1", "dev": true,
                            "dependencies": {"ms": {"version": "2.1.3", "dev": true}}},
            "sw": {"version": "npm:string-width@4.2.3"},
            "local": {"version": "file:packages/local"},
            "gh": {"version": "github:user/repo#abcdef"},
            "broken": "nope",
            "noversion": {}
          }
        }"#);
        assert_eq!(
            summary(&found),
            [
                "debug@4.3.4",
                "humanize-ms@1.2.1+dev",
                "ms@2.1.2",
                "ms@2.1.3",
                "string-width@4.2.3",
            ]
        );
        assert_eq!(
            found.warnings,
            [
                "dependencies.broken: a string instead of an object",
                "dependencies.noversion: no version",
            ]
        );
    }

    #[test]
    fn broken_links_and_records_are_warnings() {
        let found = run(r#"{"lockfileVersion": 2, "packages": {
            "node_modules/a": {"link": true, "resolved": "nowhere"},
            "node_modules/b": [1],
            "node_modules/c": {"version": {"x": 1}},
            "node_modules/d": {"version": "1.0.0", "dev": "yes"}
          }, "dependencies": {"ignored": {"version": "9.9.9"}}}"#);
        assert_eq!(summary(&found), ["d@1.0.0"]);
        assert_eq!(found.warnings.len(), 3, "{:?}", found.warnings);
    }

    #[test]
    fn malformed_and_deep_input() {
        assert!(
            NpmLock
                .analyze(&file("package-lock.json"), b"{\"packages\":")
                .is_err()
        );
        assert!(NpmLock.analyze(&file("package-lock.json"), b"5").is_err());
        // Deeper than the JSON parser's limit: an error, no stack overflow.
        let mut deep = String::from(r#"{"lockfileVersion":1,"dependencies":"#);
        for _ in 0..10_000 {
            deep.push_str(r#"{"a":{"version":"1.0.0","dependencies":"#);
        }
        assert!(
            NpmLock
                .analyze(&file("package-lock.json"), deep.as_bytes())
                .is_err()
        );
        // Within the parser's limit but deeper than ours: partial, with a warning.
        let mut nested = String::from(r#"{"lockfileVersion":1,"dependencies":"#);
        let levels = 40;
        for i in 0..levels {
            nested.push_str(&format!(
                r#"{{"p{i}":{{"version":"1.0.{i}","dependencies":"#
            ));
        }
        nested.push_str("{}");
        for _ in 0..levels {
            nested.push_str("}}");
        }
        nested.push('}');
        let found = NpmLock
            .analyze(&file("package-lock.json"), nested.as_bytes())
            .unwrap();
        assert_eq!(found.packages.len(), MAX_DEPTH);
        assert_eq!(
            found.warnings,
            ["dependencies nested deeper than 32 levels were not read"]
        );
    }

    #[test]
    fn names_and_versions() {
        assert_eq!(
            split_name_version("@scope/x@1.0.0"),
            Some(("@scope/x", "1.0.0"))
        );
        assert_eq!(split_name_version("x@1"), Some(("x", "1")));
        assert_eq!(split_name_version("@scope/x"), None);
        assert_eq!(split_name_version("x@"), None);
        assert_eq!(split_name_version("@@@"), None);
        assert_eq!(split_name_version("@x@1"), None);
    }
}
