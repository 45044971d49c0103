//! Installed npm packages: `node_modules/<name>/package.json` and scoped
//! `node_modules/@scope/<name>/package.json`.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use vigil_core::{Ecosystem, Package};

/// Reads the manifests of installed packages.
pub struct NodePackageJson;

impl Analyzer for NodePackageJson {
    fn name(&self) -> &'static str {
        "node-installed"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        let Some(dir) = file.path.strip_suffix("/package.json") else {
            return false;
        };
        // The folder directly under node_modules is the package (or @scope/package).
        let mut parts = dir.rsplit('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some("node_modules"), _) => true,
            (Some(_), Some(scope), Some("node_modules")) => scope.starts_with('@'),
            _ => false,
        }
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let manifest: Manifest = serde_json::from_slice(content)
            .map_err(|e| AnalyzeError::new(format!("invalid package.json: {e}")))?;
        let (Some(name), Some(version)) = (manifest.name, manifest.version) else {
            // Private workspaces and fixtures without a name or version are not packages.
            return Ok(Found::default());
        };
        let mut pkg = Package::new(Ecosystem::Npm, name, version, self.name(), "");
        pkg.licenses = manifest
            .license
            .map(License::into_names)
            .unwrap_or_default();
        if pkg.licenses.is_empty()
            && let Some(list) = manifest.licenses
        {
            pkg.licenses = list.into_iter().flat_map(License::into_names).collect();
        }
        Ok(Found {
            packages: vec![pkg],
            ..Found::default()
        })
    }
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default, deserialize_with = "string_only")]
    name: Option<String>,
    #[serde(default, deserialize_with = "string_only")]
    version: Option<String>,
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    licenses: Option<Vec<License>>,
}

/// `"MIT"`, `{ "type": "MIT", "url": ... }` (old style), or anything else, ignored.
#[derive(Deserialize)]
#[serde(untagged)]
enum License {
    Name(String),
    Object {
        #[serde(rename = "type")]
        kind: Option<String>,
    },
    Other(serde::de::IgnoredAny),
}

impl License {
    fn into_names(self) -> Vec<String> {
        match self {
            License::Name(n) => vec![n],
            License::Object { kind: Some(k) } => vec![k],
            _ => Vec::new(),
        }
    }
}

/// Accepts a string; any other JSON value (some packages publish objects) becomes `None`.
fn string_only<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    })
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

    #[test]
    fn which_manifests() {
        let a = NodePackageJson;
        assert!(a.required(&file("app/node_modules/express/package.json")));
        assert!(a.required(&file("app/node_modules/@babel/core/package.json")));
        assert!(a.required(&file("node_modules/a/node_modules/b/package.json")));
        assert!(!a.required(&file("app/package.json")));
        assert!(!a.required(&file("app/node_modules/express/lib/package.json")));
        assert!(!a.required(&file("app/node_modules/scope/core/package.json")));
    }

    #[test]
    fn reads_name_version_license_forms() {
        let a = NodePackageJson;
        let f = file("node_modules/@babel/core/package.json");
        let found = a
            .analyze(
                &f,
                br#"{"name":"@babel/core","version":"7.23.0","license":"MIT"}"#,
            )
            .unwrap_or_default();
        assert_eq!(found.packages[0].purl, "pkg:npm/%40babel/core@7.23.0");
        assert_eq!(found.packages[0].licenses, ["MIT"]);
        let old = a
            .analyze(
                &f,
                br#"{"name":"x","version":"1.0.0","licenses":[{"type":"BSD"}]}"#,
            )
            .unwrap_or_default();
        assert_eq!(old.packages[0].licenses, ["BSD"]);
        let nameless = a.analyze(&f, br#"{"private":true}"#).unwrap_or_default();
        assert!(nameless.packages.is_empty());
        assert!(a.analyze(&f, b"{not json").is_err());
    }
}
