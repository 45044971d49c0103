//! .NET applications: the `<app>.deps.json` file the SDK writes beside every built or
//! published app, whose `libraries` map lists each NuGet package the app runs with.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use serde_json::{Map, Value};
use vigil_core::{Ecosystem, Package};

/// Most packages taken from one file; the rest are dropped with a warning.
const MAX_PACKAGES: usize = 100_000;

/// Reads `*.deps.json`.
pub struct DotnetDeps;

impl Analyzer for DotnetDeps {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name()
            .strip_suffix(".deps.json")
            .is_some_and(|stem| !stem.is_empty())
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        #[derive(Deserialize)]
        struct Deps {
            #[serde(default)]
            libraries: Map<String, Value>,
        }
        let deps: Deps = serde_json::from_slice(content)
            .map_err(|e| AnalyzeError::new(format!("invalid deps.json: {e}")))?;
        let mut found = Found::default();
        for (key, library) in &deps.libraries {
            // `project` is the app itself or a project it references, `reference` a
            // plain assembly, `runtimepack` the runtime of a self-contained app: not
            // NuGet packages.
            let kind = library.get("type").and_then(Value::as_str);
            if kind != Some("package") {
                if kind.is_none() {
                    found
                        .warnings
                        .push(format!("libraries[{key:?}]: no \"type\"; skipped"));
                }
                continue;
            }
            // `Name/Version`: NuGet ids and versions never contain `/`.
            let Some((name, version)) = key
                .split_once('/')
                .filter(|(n, v)| !n.is_empty() && !v.is_empty() && !v.contains('/'))
            else {
                found
                    .warnings
                    .push(format!("libraries[{key:?}]: not `Name/Version`; skipped"));
                continue;
            };
            if found.packages.len() >= MAX_PACKAGES {
                found.warnings.push(format!(
                    "more than {MAX_PACKAGES} packages; the rest were not read"
                ));
                break;
            }
            found.packages.push(Package::new(
                Ecosystem::Nuget,
                name,
                version,
                self.name(),
                "",
            ));
        }
        Ok(found)
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

    #[test]
    fn which_files() {
        assert!(DotnetDeps.required(&file("app/MyApp.deps.json")));
        assert!(!DotnetDeps.required(&file("app/.deps.json")));
        assert!(!DotnetDeps.required(&file("app/MyApp.runtimeconfig.json")));
    }

    #[test]
    fn packages_only() {
        let deps = br#"{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"},"targets":{},
          "libraries":{
            "MyApp/1.0.0":{"type":"project","serviceable":false,"sha512":""},
            "Newtonsoft.Json/13.0.3":{"type":"package","serviceable":true,"sha512":"sha512-x","path":"newtonsoft.json/13.0.3"},
            "System.Web/4.0.0.0":{"type":"reference","serviceable":false,"sha512":""},
            "Broken":{"type":"package"},
            "NoType/1.0":{}
          }}"#;
        let found = DotnetDeps
            .analyze(&file("app/MyApp.deps.json"), deps)
            .unwrap_or_default();
        let got: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [(
                "Newtonsoft.Json",
                "13.0.3",
                "pkg:nuget/Newtonsoft.Json@13.0.3"
            )]
        );
        assert_eq!(
            found.warnings,
            [
                "libraries[\"Broken\"]: not `Name/Version`; skipped",
                "libraries[\"NoType/1.0\"]: no \"type\"; skipped"
            ]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"libraries\": []}",
            b"{\"libraries\": null}",
        ] {
            assert!(DotnetDeps.analyze(&file("a.deps.json"), bad).is_err());
        }
        let nested = "[".repeat(100_000);
        assert!(
            DotnetDeps
                .analyze(&file("a.deps.json"), format!("{{\"x\":{nested}").as_bytes())
                .is_err()
        );
    }
}
