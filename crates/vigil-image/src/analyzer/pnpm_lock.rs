//! `pnpm-lock.yaml`, lockfile versions 5.x (pnpm 7), 6.x (pnpm 8) and 9.x (pnpm 9+).
//!
//! Packages are the keys of `packages`, whose form changed with the versions:
//! `/name/1.0.0` and `/@scope/name/1.0.0_peer@2.0.0` (v5; a registry host may replace the
//! leading slash), `/name@1.0.0(peer@2.0.0)` (v6), `name@1.0.0` (v9). Peer-dependency
//! suffixes (`_…`, `(…)`) are stripped; a record's own `name`/`version` fields (tarball and
//! git packages) win over the key. Versions that are URLs or paths are skipped.
//!
//! Dev-only packages: v5 and v6 mark them `dev: true`. v9 dropped the flag, so it is
//! computed as Trivy does: every package reachable through `snapshots` from a
//! `dependencies` or `optionalDependencies` entry of any importer (workspace project) is
//! production; the others (reached only from `devDependencies`) are dev.
//!
//! The file may hold several YAML documents (pnpm 10 puts an "env" document with its own
//! tooling before the project's); the last one with a `lockfileVersion` is the project's.

use super::lock::{
    Collector, Lenient, Text, TextMap, text_entries, under_node_modules, yaml_options,
};
use super::npm_lock::is_non_registry;
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::{BTreeMap, HashSet};
use vigil_core::Ecosystem;

/// Reads pnpm lock files.
pub struct PnpmLock;

impl Analyzer for PnpmLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "pnpm-lock.yaml" && !under_node_modules(file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let docs: Vec<LockFile> =
            serde_saphyr::from_slice_multiple_with_options(content, yaml_options(content.len()))
                .map_err(|e| AnalyzeError::new(format!("invalid pnpm-lock.yaml: {e}")))?;
        let Some(lock) = docs
            .into_iter()
            .rev()
            .find(|d| d.lockfile_version.0.is_some())
        else {
            return Err(AnalyzeError::new("pnpm-lock.yaml has no lockfileVersion"));
        };
        let version = lock.lockfile_version.as_deref().unwrap_or_default();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.trim_matches(|c| c == '\'' || c == '"').parse().ok())
            .ok_or_else(|| AnalyzeError::new(format!("unknown lockfileVersion {version:?}")))?;
        let mut out = Collector::new(Ecosystem::Npm, self.name());
        let empty = BTreeMap::new();
        let packages = match &lock.packages {
            None => &empty,
            Some(Lenient::Ok(p)) => p,
            Some(Lenient::Bad(what)) => {
                out.warn(format!("packages: {what} instead of a map"));
                &empty
            }
        };
        let prod = (major >= 9).then(|| production_v9(&lock, &mut out));
        for (key, info) in packages {
            let Lenient::Ok(info) = info else {
                out.warn(format!("packages[{key:?}]: not a map"));
                continue;
            };
            let parsed = parse_key(key, major);
            let name = info
                .name
                .as_deref()
                .or(parsed.as_ref().map(|(n, _)| n.as_str()));
            let version = info
                .version
                .as_deref()
                .or(parsed.as_ref().map(|(_, v)| v.as_str()));
            let (Some(name), Some(version)) = (name, version) else {
                out.warn(format!("packages[{key:?}]: no package name and version"));
                continue;
            };
            if is_non_registry(version) {
                continue;
            }
            let dev = match &prod {
                Some(Some(prod)) => !prod.contains(strip_peers(key)),
                Some(None) => false,
                None => info.dev.as_deref() == Some("true"),
            };
            out.add(&|| format!("packages[{key:?}]"), name, version, dev);
        }
        Ok(out.finish())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LockFile {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Text,
    importers: Option<Lenient<BTreeMap<String, Lenient<Importer>>>>,
    packages: Option<Lenient<BTreeMap<String, Lenient<PackageInfo>>>>,
    snapshots: Option<Lenient<BTreeMap<String, Lenient<Snapshot>>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Importer {
    dependencies: Lenient<BTreeMap<String, ImporterDep>>,
    optional_dependencies: Lenient<BTreeMap<String, ImporterDep>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackageInfo {
    name: Text,
    version: Text,
    dev: Text,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Snapshot {
    dependencies: TextMap,
    optional_dependencies: TextMap,
}

/// An importer's dependency: `1.0.0` (v5) or `{ specifier: ^1.0.0, version: 1.0.0 }`.
#[derive(Default)]
struct ImporterDep(Option<String>);

impl<'de> Deserialize<'de> for ImporterDep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ImporterDep, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ImporterDep;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a version or a map with a version")
            }
            fn visit_str<E>(self, v: &str) -> Result<ImporterDep, E> {
                Ok(ImporterDep(Some(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ImporterDep, A::Error> {
                let mut version = None;
                while let Some(key) = m.next_key::<Text>()? {
                    if key.as_deref() == Some("version") {
                        version = m.next_value::<Text>()?.0;
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ImporterDep(version))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<ImporterDep, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ImporterDep(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<ImporterDep, E> {
                Ok(ImporterDep(None))
            }
            fn visit_i64<E>(self, v: i64) -> Result<ImporterDep, E> {
                Ok(ImporterDep(Some(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<ImporterDep, E> {
                Ok(ImporterDep(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<ImporterDep, E> {
                Ok(ImporterDep(Some(v.to_string())))
            }
            fn visit_unit<E>(self) -> Result<ImporterDep, E> {
                Ok(ImporterDep(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `(name, version)` from a `packages` key.
fn parse_key(key: &str, major: u32) -> Option<(String, String)> {
    // Before v9 keys start with `/` or with a registry host and `/`.
    let rest = if major < 9 {
        key.split_once('/')?.1
    } else {
        key.strip_prefix('/').unwrap_or(key)
    };
    let (scope, rest) = match rest.strip_prefix('@') {
        Some(scoped) => {
            let (scope, rest) = scoped.split_once('/')?;
            (Some(scope), rest)
        }
        None => (None, rest),
    };
    let (name, version) = rest.split_once(if major < 6 { '/' } else { '@' })?;
    let mut version = strip_peers(version);
    if major < 6 {
        version = version.split('_').next().unwrap_or(version);
    }
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let name = match scope {
        Some(scope) => format!("@{scope}/{name}"),
        None => name.to_string(),
    };
    Some((name, version.to_string()))
}

/// Drops a `(peer@1.0.0)` suffix.
fn strip_peers(s: &str) -> &str {
    s.split('(').next().unwrap_or(s)
}

/// The snapshot key a dependency `name: version` points to. The version is a plain version
/// (`1.0.0(peer@2.0.0)`), or `real-name@1.0.0` for an alias, or `link:…` for a workspace.
fn snapshot_key(name: &str, version: &str) -> Option<String> {
    if version.starts_with("link:") {
        return None;
    }
    let is_alias = strip_peers(version)
        .get(1..)
        .is_some_and(|v| v.contains('@'));
    Some(if is_alias {
        version.to_string()
    } else {
        format!("{name}@{version}")
    })
}

/// v9: the package keys reachable from the importers' production dependencies; `None`
/// when the file has no importers to start from.
fn production_v9(lock: &LockFile, out: &mut Collector) -> Option<HashSet<String>> {
    let importers = match lock.importers.as_ref()? {
        Lenient::Ok(i) => i,
        Lenient::Bad(what) => {
            out.warn(format!(
                "importers: {what} instead of a map; dev flags unknown"
            ));
            return None;
        }
    };
    let empty = BTreeMap::new();
    let snapshots = match &lock.snapshots {
        Some(Lenient::Ok(s)) => s,
        _ => &empty,
    };
    let mut queue: Vec<String> = Vec::new();
    for importer in importers.values().filter_map(Lenient::ok) {
        for deps in [&importer.dependencies, &importer.optional_dependencies] {
            for (name, dep) in deps.ok().into_iter().flatten() {
                if let Some(key) = dep.0.as_deref().and_then(|v| snapshot_key(name, v)) {
                    queue.push(key);
                }
            }
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(key) = queue.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let Some(snapshot) = snapshots.get(&key).and_then(Lenient::ok) else {
            continue;
        };
        for deps in [&snapshot.dependencies, &snapshot.optional_dependencies] {
            for (name, version) in text_entries(deps) {
                if let Some(child) = snapshot_key(name, version)
                    && !seen.contains(&child)
                {
                    queue.push(child);
                }
            }
        }
    }
    Some(seen.iter().map(|k| strip_peers(k).to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    fn run(text: &str) -> Found {
        PnpmLock
            .analyze(&file("app/pnpm-lock.yaml"), text.as_bytes())
            .unwrap()
    }

    #[test]
    fn keys_of_every_version() {
        let cases = [
            ("/ms/2.1.3", 5, Some(("ms", "2.1.3"))),
            (
                "/@sindresorhus/is/4.6.0",
                5,
                Some(("@sindresorhus/is", "4.6.0")),
            ),
            (
                "/react-dom/18.2.0_react@18.2.0",
                5,
                Some(("react-dom", "18.2.0")),
            ),
            ("/a_b/1.0.0_@babel+core@7.0.0", 5, Some(("a_b", "1.0.0"))),
            ("registry.example/ms/2.1.3", 5, Some(("ms", "2.1.3"))),
            ("/ms@2.1.3", 6, Some(("ms", "2.1.3"))),
            (
                "/react-dom@18.2.0(react@18.2.0)",
                6,
                Some(("react-dom", "18.2.0")),
            ),
            (
                "/@babel/core@7.21.8(@types/x@1.0.0)",
                6,
                Some(("@babel/core", "7.21.8")),
            ),
            ("ms@2.1.3", 9, Some(("ms", "2.1.3"))),
            (
                "@sindresorhus/is@4.6.0",
                9,
                Some(("@sindresorhus/is", "4.6.0")),
            ),
            (
                "react-dom@18.2.0(react@18.2.0)",
                9,
                Some(("react-dom", "18.2.0")),
            ),
            (
                "x@https://example.invalid/x.tgz",
                9,
                Some(("x", "https://example.invalid/x.tgz")),
            ),
            ("nothing", 9, None),
            ("@scope", 9, None),
        ];
        for (key, major, want) in cases {
            let got = parse_key(key, major);
            assert_eq!(
                got.as_ref().map(|(n, v)| (n.as_str(), v.as_str())),
                want,
                "{key}"
            );
        }
    }

    #[test]
    fn v5_and_v6_dev_flags() {
        let v5 = r#"lockfileVersion: 5.4
specifiers:
  ms: 2.1.3
dependencies:
  ms: 2.1.3
packages:
  /ms/2.1.3:
    resolution: {integrity: sha512-x}
    dev: false
  /semver/7.5.4:
    resolution: {integrity: sha512-y}
    dev: true
  /shared/1.0.0:
    resolution: {integrity: sha512-z}
  /git-thing/abcdef:
    resolution: {tarball: x}
    name: git-thing
    version: 3.0.0
    dev: false
"#;
        assert_eq!(
            summary(&run(v5)),
            [
                "git-thing@3.0.0",
                "ms@2.1.3",
                "semver@7.5.4+dev",
                "shared@1.0.0"
            ]
        );
        let v6 = r#"lockfileVersion: '6.0'
packages:
  /react-dom@18.2.0(react@18.2.0):
    dev: false
  /react@18.2.0:
    dev: false
  /@types/node@20.0.0:
    dev: true
"#;
        assert_eq!(
            summary(&run(v6)),
            ["@types/node@20.0.0+dev", "react@18.2.0", "react-dom@18.2.0"]
        );
    }

    const V9: &str = "lockfileVersion: '9.0'

settings:
  autoInstallPeers: true

importers:

  .:
    dependencies:
      debug:
        specifier: 4.3.4
        version: 4.3.4
      react-dom:
        specifier: 18.2.0
        version: 18.2.0(react@18.2.0)
      sw:
        specifier: npm:string-width@4.2.3
        version: string-width@4.2.3
      lib:
        specifier: workspace:*
        version: link:packages/lib
    devDependencies:
      humanize-ms:
        specifier: 1.2.1
        version: 1.2.1

packages:

  debug@4.3.4:
    resolution: {integrity: sha512-a}
  humanize-ms@1.2.1:
    resolution: {integrity: sha512-b}
  ms@2.1.2:
    resolution: {integrity: sha512-c}
  ms@2.1.3:
    resolution: {integrity: sha512-d}
  react-dom@18.2.0:
    resolution: {integrity: sha512-e}
  react@18.2.0:
    resolution: {integrity: sha512-f}
  string-width@4.2.3:
    resolution: {integrity: sha512-g}
  local@file:local:
    resolution: {directory: local, type: directory}

snapshots:

  debug@4.3.4:
    dependencies:
      ms: 2.1.2
  humanize-ms@1.2.1:
    dependencies:
      ms: 2.1.3
  ms@2.1.2: {}
  ms@2.1.3: {}
  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
  react@18.2.0: {}
  string-width@4.2.3: {}
";

    #[test]
    fn v9_dev_from_importers() {
        assert_eq!(
            summary(&run(V9)),
            [
                "debug@4.3.4",
                "humanize-ms@1.2.1+dev",
                "ms@2.1.2",
                "ms@2.1.3+dev",
                "react@18.2.0",
                "react-dom@18.2.0",
                "string-width@4.2.3",
            ]
        );
        // With an env document first (pnpm 10), the project's document is used.
        let env = r#"---
lockfileVersion: '9.0'
importers:
  .:
    configDependencies: {}
packages:
  pnpm@10.0.0:
    resolution: {integrity: sha512-p}

---
"#;
        assert_eq!(run(&format!("{env}{V9}")).packages.len(), 7);
    }

    #[test]
    fn hostile_input() {
        let a = PnpmLock;
        assert!(a.analyze(&file("pnpm-lock.yaml"), b"packages: [").is_err());
        assert!(a.analyze(&file("pnpm-lock.yaml"), b"a: 1\n").is_err());
        assert!(
            a.analyze(&file("pnpm-lock.yaml"), b"lockfileVersion: x\n")
                .is_err()
        );
        let found =
            run("lockfileVersion: '9.0'\nimporters: 7\npackages:\n  a@1.0.0: 5\n  b@1.0.0: {}\n");
        assert_eq!(summary(&found), ["b@1.0.0"]);
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        // A cycle in snapshots ends.
        let cycle = r#"lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      a:
        specifier: '1'
        version: 1.0.0
packages:
  a@1.0.0: {}
  b@1.0.0: {}
snapshots:
  a@1.0.0:
    dependencies:
      b: 1.0.0
  b@1.0.0:
    dependencies:
      a: 1.0.0
"#;
        assert_eq!(summary(&run(cycle)), ["a@1.0.0", "b@1.0.0"]);
    }
}
