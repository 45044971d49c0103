//! `yarn.lock`: yarn 1 ("classic") and yarn 2+ ("berry").
//!
//! Berry lock files are YAML (they start with a `__metadata` entry) and are read with
//! serde-saphyr. Classic lock files look like YAML but are not (`version "1.0.0"`, no
//! colon); no maintained Rust crate reads them, so a small line parser below does: an entry
//! is an unindented, colon-terminated list of patterns (`"a@^1.0.0", a@~1.1.0:`) followed
//! by indented `key value` lines, of which only `version` matters.
//!
//! Only packages from the npm registry are reported, as Trivy does: workspaces, `link:`,
//! `portal:`, `file:`, git and tarball dependencies name no registry release, and a
//! `patch:` entry repeats the npm package it patches. Aliases (`x@npm:real@^1`) are reported
//! under the real name. yarn.lock does not record which packages are dev-only (that needs
//! package.json), so none is marked dev.

use super::lock::{Collector, Lenient, Text, under_node_modules, yaml_options};
use super::npm_lock::split_name_version;
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigil_core::Ecosystem;

/// Reads yarn lock files.
pub struct YarnLock;

impl Analyzer for YarnLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "yarn.lock" && !under_node_modules(file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| AnalyzeError::new(format!("yarn.lock is not UTF-8: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut out = Collector::new(Ecosystem::Npm, self.name());
        if super::lines(text).any(|l| l.starts_with("__metadata:")) {
            read_berry(text, &mut out)?;
        } else {
            read_classic(text, &mut out);
        }
        Ok(out.finish())
    }
}

/// What a pattern's range part says about where the package comes from.
enum Spec<'a> {
    /// A range (`^1.0.0`, `1.2.3`, a tag) on the npm registry, under this name.
    Npm(&'a str),
    /// Anything else: a folder, a link, git, a tarball URL, a workspace, a patch.
    Elsewhere,
}

/// Splits `name@spec`, resolving `npm:` aliases to the real name.
fn parse_pattern(pattern: &str) -> Option<Spec<'_>> {
    let (name, spec) = split_name_version(pattern)?;
    if let Some(aliased) = spec.strip_prefix("npm:") {
        // `npm:real@range`, or `npm:range` in berry's `name@npm:range`.
        return Some(match split_name_version(aliased) {
            Some((real, _)) if !real.starts_with(|c: char| c.is_ascii_digit()) => Spec::Npm(real),
            _ => Spec::Npm(name),
        });
    }
    let has_protocol = spec.split_once(':').is_some_and(|(p, _)| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
    });
    if has_protocol || spec.contains('/') {
        return Some(Spec::Elsewhere);
    }
    Some(Spec::Npm(name))
}

/// Removes JSON-style quotes (yarn 1 quotes with `JSON.stringify`).
fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        serde_json::from_str::<String>(s).unwrap_or_else(|_| s.trim_matches('"').to_string())
    } else {
        s.to_string()
    }
}

/// yarn 1.
fn read_classic(text: &str, out: &mut Collector) {
    // (line number, name, version) of the entry being read; name None = not reported.
    let mut current: Option<(usize, Option<String>, Option<String>)> = None;
    let finish = |out: &mut Collector, entry: Option<(usize, Option<String>, Option<String>)>| {
        if let Some((line, Some(name), version)) = entry {
            match version {
                Some(v) => out.add(&|| format!("line {line}"), &name, &v, false),
                None => out.warn(format!("line {line}: {name} has no version")),
            }
        }
    };
    for (i, line) in super::lines(text).enumerate() {
        let number = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            finish(out, current.take());
            let Some(patterns) = line.strip_suffix(':') else {
                out.warn(format!("line {number}: not an entry header"));
                continue;
            };
            let first = patterns.split(',').next().map(unquote).unwrap_or_default();
            let name = match parse_pattern(&first) {
                Some(Spec::Npm(name)) => Some(name.to_string()),
                Some(Spec::Elsewhere) => None,
                None => {
                    out.warn(format!("line {number}: bad pattern {first:?}"));
                    None
                }
            };
            current = Some((number, name, None));
        } else if let Some((_, _, version)) = current.as_mut() {
            // Only the entry's own fields (two spaces), not its dependency lists.
            let field = line.strip_prefix("  ").filter(|l| !l.starts_with(' '));
            if let Some(rest) = field.and_then(|l| l.strip_prefix("version")) {
                let value = rest.strip_prefix(':').unwrap_or(rest);
                if value.starts_with([' ', '\t']) {
                    *version = Some(unquote(value));
                }
            }
        }
    }
    finish(out, current.take());
}

/// One berry entry.
#[derive(Deserialize, Default)]
#[serde(default)]
struct BerryEntry {
    version: Text,
    resolution: Text,
}

/// yarn 2+.
fn read_berry(text: &str, out: &mut Collector) -> Result<(), AnalyzeError> {
    let entries: BTreeMap<String, Lenient<BerryEntry>> =
        serde_saphyr::from_str_with_options(text, yaml_options(text.len()))
            .map_err(|e| AnalyzeError::new(format!("invalid yarn.lock (YAML): {e}")))?;
    for (key, entry) in &entries {
        if key == "__metadata" {
            continue;
        }
        let Lenient::Ok(entry) = entry else {
            out.warn(format!("{key:?}: not a map"));
            continue;
        };
        // The resolution names the one package all of the key's patterns resolved to.
        let first = key.split(',').next().unwrap_or(key).trim();
        let locator = entry.resolution.as_deref().unwrap_or(first);
        let Some((name, reference)) = split_name_version(locator) else {
            out.warn(format!("{key:?}: bad resolution {locator:?}"));
            continue;
        };
        if !reference.starts_with("npm:") {
            continue;
        }
        let name = match parse_pattern(locator) {
            Some(Spec::Npm(real)) => real,
            _ => name,
        };
        match entry.version.as_deref() {
            Some(v) => out.add(&|| key.clone(), name, v, false),
            None => out.warn(format!("{key:?}: no version")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    fn run(text: &str) -> Found {
        YarnLock
            .analyze(&file("app/yarn.lock"), text.as_bytes())
            .unwrap()
    }

    const CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@sindresorhus/is@4.6.0":
  version "4.6.0"
  resolved "https://registry.example/@sindresorhus/is/-/is-4.6.0.tgz#abc"
  integrity sha512-xyz

debug@4.3.4, debug@^4.1.0:
  version "4.3.4"
  dependencies:
    ms "2.1.2"
    version "9.9.9"

ms@2.1.2:
  version "2.1.2"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"

"local@file:./local":
  version "1.0.0"

"gh@user/repo#abc":
  version "2.0.0"

"tar@https://example.invalid/tar-1.0.0.tgz":
  version "1.0.0"

broken@^1.0.0:
  resolved "x"
"#;

    #[test]
    fn classic_entries() {
        let found = run(CLASSIC);
        assert_eq!(
            summary(&found),
            [
                "@sindresorhus/is@4.6.0",
                "debug@4.3.4",
                "ms@2.1.2",
                "string-width@4.2.3"
            ]
        );
        assert_eq!(found.warnings, ["line 31: broken has no version"]);
        let crlf = CLASSIC.replace('\n', "\r\n");
        assert_eq!(summary(&run(&crlf)), summary(&found));
    }

    #[test]
    fn classic_garbage_is_warned() {
        let found = run("what is this\n  version \"1\"\n@@@:\n  version \"2\"\n");
        assert!(found.packages.is_empty());
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@sindresorhus/is@npm:4.6.0":
  version: 4.6.0
  resolution: "@sindresorhus/is@npm:4.6.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"debug@npm:4.3.4, debug@npm:^4.1.0":
  version: 4.3.4
  resolution: "debug@npm:4.3.4"
  dependencies:
    ms: "npm:2.1.2"
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"resolve@npm:^1.22.0":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"weird@npm:1.0.0": 7
"#;

    #[test]
    fn berry_entries() {
        let found = run(BERRY);
        assert_eq!(
            summary(&found),
            [
                "@sindresorhus/is@4.6.0",
                "debug@4.3.4",
                "resolve@1.22.8",
                "string-width@4.2.3"
            ]
        );
        assert_eq!(found.warnings, [r#""weird@npm:1.0.0": not a map"#]);
    }

    #[test]
    fn hostile_yaml() {
        let bad = YarnLock.analyze(&file("yarn.lock"), b"__metadata:\n  version: [1, 2\n");
        assert!(bad.is_err());
        // A billion-laughs style alias bomb is refused by the parser's budget.
        let mut bomb =
            String::from("__metadata:\n  version: 8\na: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(
            YarnLock
                .analyze(&file("yarn.lock"), bomb.as_bytes())
                .is_err()
        );
        let nested = format!(
            "__metadata:\n  version: 8\nx: {}{}\n",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(
            YarnLock
                .analyze(&file("yarn.lock"), nested.as_bytes())
                .is_err()
        );
        assert!(YarnLock.analyze(&file("yarn.lock"), b"\xff\xfe").is_err());
    }

    #[test]
    fn patterns() {
        assert!(matches!(parse_pattern("a@^1.0.0"), Some(Spec::Npm("a"))));
        assert!(matches!(
            parse_pattern("@s/a@npm:1.0.0"),
            Some(Spec::Npm("@s/a"))
        ));
        assert!(matches!(
            parse_pattern("a@npm:@s/b@^2"),
            Some(Spec::Npm("@s/b"))
        ));
        assert!(matches!(
            parse_pattern("a@git+https://x/y.git"),
            Some(Spec::Elsewhere)
        ));
        assert!(matches!(
            parse_pattern("a@workspace:."),
            Some(Spec::Elsewhere)
        ));
        assert!(matches!(
            parse_pattern("a@>=1.0.0 <2"),
            Some(Spec::Npm("a"))
        ));
        assert!(parse_pattern("nothing").is_none());
    }
}
