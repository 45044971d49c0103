//! Installed Python distributions: `*.dist-info/METADATA` and `*.egg-info` (file or folder).

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use vigil_core::{Ecosystem, Package};

/// Reads the core metadata of installed distributions (site-packages, dist-packages,
/// `pip install --target` folders, virtualenvs).
pub struct PythonInstalled;

impl Analyzer for PythonInstalled {
    fn name(&self) -> &'static str {
        "python-installed"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        let p = file.path;
        p.ends_with(".dist-info/METADATA")
            || p.ends_with(".egg-info/PKG-INFO")
            || p.ends_with(".egg-info")
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let meta = parse_metadata(&text);
        let name = meta
            .name
            .ok_or_else(|| AnalyzeError::new("no Name header"))?;
        let version = meta
            .version
            .ok_or_else(|| AnalyzeError::new(format!("{name}: no Version header")))?;
        let mut pkg = Package::new(Ecosystem::Pypi, name, version, self.name(), "");
        pkg.licenses = meta.licenses;
        Ok(Found {
            packages: vec![pkg],
            ..Found::default()
        })
    }
}

/// The core-metadata fields Vigil uses.
#[derive(Debug, Default)]
struct Metadata {
    name: Option<String>,
    version: Option<String>,
    licenses: Vec<String>,
}

/// Parses the RFC 822 header block of core metadata (it ends at the first blank line).
fn parse_metadata(text: &str) -> Metadata {
    let mut meta = Metadata::default();
    let mut license = None;
    let mut expression = None;
    let mut classifiers = Vec::new();
    for line in super::lines(text) {
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => meta.name = Some(value.to_string()),
            "Version" => meta.version = Some(value.to_string()),
            "License-Expression" => expression = Some(value.to_string()),
            // The free-text License field often holds the whole licence text; keep short
            // values only, as Trivy and Syft do.
            "License" if !value.is_empty() && value != "UNKNOWN" && value.len() <= 80 => {
                license = Some(value.to_string())
            }
            "Classifier" => {
                if let Some(l) = value.strip_prefix("License :: ") {
                    let name = l.rsplit(" :: ").next().unwrap_or(l);
                    classifiers.push(name.to_string());
                }
            }
            _ => {}
        }
    }
    meta.licenses = match (expression, license) {
        (Some(e), _) => vec![e],
        (None, Some(l)) => vec![l],
        (None, None) => classifiers,
    };
    meta
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
    fn reads_dist_info_metadata() {
        let text = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\
Classifier: License :: OSI Approved :: Apache Software License\n\nName: not-a-header\n";
        let found = PythonInstalled
            .analyze(
                &file("x/requests-2.31.0.dist-info/METADATA"),
                text.as_bytes(),
            )
            .unwrap_or_default();
        let p = &found.packages[0];
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("requests", "2.31.0")
        );
        assert_eq!(p.licenses, ["Apache 2.0"]);
        assert_eq!(p.purl, "pkg:pypi/requests@2.31.0");
    }

    #[test]
    fn classifiers_when_no_license_field() {
        let m = parse_metadata(
            "Name: a\nVersion: 1\nClassifier: License :: OSI Approved :: MIT License\n",
        );
        assert_eq!(m.licenses, ["MIT License"]);
    }

    #[test]
    fn which_files() {
        assert!(
            PythonInstalled.required(&file("usr/lib/python3/dist-packages/six-1.16.0.egg-info"))
        );
        assert!(PythonInstalled.required(&file("a/b.egg-info/PKG-INFO")));
        assert!(!PythonInstalled.required(&file("a/b.dist-info/RECORD")));
        let err = PythonInstalled.analyze(&file("a.egg-info"), b"Name: x\n");
        assert!(err.is_err());
    }
}
