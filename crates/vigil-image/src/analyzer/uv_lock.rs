//! uv's `uv.lock` (TOML): one `[[package]]` table per locked distribution.
//!
//! The project itself and the other members of its workspace are in the lock too, with
//! `source = { editable = "…" }` or `{ virtual = "…" }`. They are the application being
//! scanned, not dependencies installed from an index, and are not reported (reporting them
//! would match advisories of any same-named PyPI project). Trivy keeps the root as the
//! application's root component and drops development packages altogether; Vigil keeps
//! them, marked dev.
//!
//! Dev-only packages are computed from the members, like Trivy does from the root: what
//! their `dependencies` and `optional-dependencies` (extras are installed in production)
//! reach, through each package's dependencies and the extras requested of it, is
//! production; what only the members' `dev-dependencies` (dependency groups) reach is
//! dev. Without a member in the file, every package is production.

use super::lock::{Collector, Lenient, Text};
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use vigil_core::Ecosystem;

/// Reads uv lock files.
pub struct UvLock;

impl Analyzer for UvLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "uv-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "uv.lock"
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| AnalyzeError::new(format!("uv.lock is not UTF-8: {e}")))?;
        let lock: LockFile =
            toml::from_str(text).map_err(|e| AnalyzeError::new(format!("invalid uv.lock: {e}")))?;
        let mut out = Collector::new(Ecosystem::Pypi, self.name());
        let mut packages = Vec::new();
        for (i, p) in lock.package.iter().enumerate() {
            match p {
                Lenient::Ok(p) => packages.push((i, p)),
                Lenient::Bad(what) => {
                    out.warn(format!("package #{}: {what} instead of a table", i + 1))
                }
            }
        }
        let prod = production(&packages);
        for (i, p) in &packages {
            if p.is_member() {
                continue;
            }
            let dev = prod.as_ref().is_some_and(|prod| !prod.contains(i));
            out.add(
                &|| format!("package #{}", i + 1),
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
#[serde(default, rename_all = "kebab-case")]
struct Package {
    name: Text,
    version: Text,
    source: Lenient<BTreeMap<String, Text>>,
    dependencies: Vec<Lenient<Dependency>>,
    optional_dependencies: Lenient<BTreeMap<String, Vec<Lenient<Dependency>>>>,
}

impl Package {
    /// The project or another member of its workspace.
    fn is_member(&self) -> bool {
        self.source
            .ok()
            .is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual"))
    }
}

/// A reference to another package; `version` is given when several versions are locked.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Dependency {
    name: Text,
    version: Text,
    extra: Vec<Text>,
}

/// Indexes (in the file) of the packages production needs; `None` without members.
fn production(packages: &[(usize, &Package)]) -> Option<HashSet<usize>> {
    let mut by_name: HashMap<&str, Vec<(usize, &Package)>> = HashMap::new();
    for &(i, p) in packages {
        if let Some(name) = p.name.as_deref() {
            by_name.entry(name).or_default().push((i, p));
        }
    }
    // States: (package, None) for its dependencies, (package, Some(extra)) for an extra's.
    let mut queue: Vec<(usize, &Package, Option<&str>)> = Vec::new();
    for &(i, p) in packages.iter().filter(|(_, p)| p.is_member()) {
        queue.push((i, p, None));
        for extra in p
            .optional_dependencies
            .ok()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            queue.push((i, p, Some(extra.as_str())));
        }
    }
    if queue.is_empty() {
        return None;
    }
    let mut seen: HashSet<(usize, Option<&str>)> = HashSet::new();
    while let Some((i, p, extra)) = queue.pop() {
        if !seen.insert((i, extra)) {
            continue;
        }
        let deps = match extra {
            None => Some(&p.dependencies),
            Some(e) => p.optional_dependencies.ok().and_then(|o| o.get(e)),
        };
        for dep in deps.into_iter().flatten().filter_map(Lenient::ok) {
            let Some(name) = dep.name.as_deref() else {
                continue;
            };
            let targets = by_name.get(name).into_iter().flatten().filter(|(_, t)| {
                dep.version.0.is_none() || t.version.as_deref() == dep.version.as_deref()
            });
            for &(j, target) in targets {
                queue.push((j, target, None));
                for e in dep.extra.iter().filter_map(|e| e.as_deref()) {
                    queue.push((j, target, Some(e)));
                }
            }
        }
    }
    Some(seen.into_iter().map(|(i, _)| i).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    fn run(text: &str) -> Result<Found, AnalyzeError> {
        UvLock.analyze(&file("app/uv.lock"), text.as_bytes())
    }

    const LOCK: &str = r#"
version = 1
revision = 2
requires-python = ">=3.8"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests", extra = ["socks"] }, { name = "numpy", version = "1.24.4", source = { registry = "https://pypi.invalid/simple" } }]

[package.optional-dependencies]
yaml = [{ name = "pyyaml" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }, { name = "numpy", version = "2.0.0" }]

[[package]]
name = "lib"
source = { editable = "libs/lib" }
dependencies = [{ name = "idna" }]

[[package]]
name = "requests"
version = "2.31.0"
source = { registry = "https://pypi.invalid/simple" }
dependencies = [{ name = "idna" }, { name = "urllib3" }]

[package.optional-dependencies]
socks = [{ name = "pysocks" }]
security = [{ name = "cryptography" }]

[[package]]
name = "idna"
version = "3.6"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "urllib3"
version = "2.2.3"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "pysocks"
version = "1.7.1"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "cryptography"
version = "42.0.0"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "pyyaml"
version = "6.0.1"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "pytest"
version = "7.4.4"
source = { registry = "https://pypi.invalid/simple" }
dependencies = [{ name = "idna" }]

[[package]]
name = "numpy"
version = "1.24.4"
source = { registry = "https://pypi.invalid/simple" }

[[package]]
name = "numpy"
version = "2.0.0"
source = { registry = "https://pypi.invalid/simple" }
"#;

    #[test]
    fn members_skipped_and_dev_computed() {
        assert_eq!(
            summary(&run(LOCK).unwrap()),
            [
                "cryptography@42.0.0+dev",
                "idna@3.6",
                "numpy@1.24.4",
                "numpy@2.0.0+dev",
                "pysocks@1.7.1",
                "pytest@7.4.4+dev",
                "pyyaml@6.0.1",
                "requests@2.31.0",
                "urllib3@2.2.3",
            ]
        );
    }

    #[test]
    fn without_members_all_production() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"1\"\n[[package]]\nname = \"b\"\nversion = \"2\"\n";
        assert_eq!(summary(&run(lock).unwrap()), ["a@1", "b@2"]);
    }

    #[test]
    fn bad_input() {
        assert!(run("[[package]]\nname = ").is_err());
        assert!(run("[[package]]\ndependencies = 3\n").is_err());
        let found = run("package = [true, { name = \"x\" }]").unwrap();
        assert!(found.packages.is_empty());
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
    }
}
