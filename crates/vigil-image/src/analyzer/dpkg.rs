//! Debian packages: the dpkg status database, its file lists, and copyright files.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use vigil_core::{Ecosystem, Package, SourcePackage};

/// `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`.
pub struct DpkgStatus;

impl Analyzer for DpkgStatus {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.path == "var/lib/dpkg/status"
            || file
                .path
                .strip_prefix("var/lib/dpkg/status.d/")
                .is_some_and(|name| {
                    // Distroless writes `<pkg>` and `<pkg>.md5sums`; only the former is a record.
                    !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums")
                })
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let mut found = Found::default();
        for (line, para) in paragraphs(&text) {
            match package(&para) {
                Ok(Some(pkg)) => found.packages.push(pkg),
                Ok(None) => {}
                Err(reason) => found
                    .warnings
                    .push(format!("record at line {line}: {reason}; skipped")),
            }
        }
        Ok(found)
    }
}

/// One control-file paragraph: (field name, value) in order, continuation lines joined.
type Paragraph<'a> = Vec<(&'a str, String)>;

/// Splits deb822 text into paragraphs, each with its starting line number (1-based).
fn paragraphs(text: &str) -> Vec<(usize, Paragraph<'_>)> {
    let mut out = Vec::new();
    let mut current: Paragraph<'_> = Vec::new();
    let mut start = 1;
    for (n, line) in super::lines(text).enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push((start, std::mem::take(&mut current)));
            }
            start = n + 2;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

fn field<'p>(para: &'p Paragraph<'_>, name: &str) -> Option<&'p str> {
    para.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Builds a package from a status paragraph; `None` for packages not installed.
fn package(para: &Paragraph<'_>) -> Result<Option<Package>, String> {
    // `Status: want flag state`; only `installed` means the files are there. Distroless
    // records carry no Status field at all and are all installed.
    if let Some(status) = field(para, "Status")
        && status.split_whitespace().nth(2) != Some("installed")
    {
        return Ok(None);
    }
    let name = field(para, "Package").ok_or("no Package field")?;
    let version = field(para, "Version").ok_or_else(|| format!("{name}: no Version field"))?;
    let mut pkg = Package::new(Ecosystem::Deb, name, version, "dpkg", "");
    pkg.arch = field(para, "Architecture").map(str::to_string);
    // `Source: name` or `Source: name (version)` when the source version differs.
    pkg.source = Some(match field(para, "Source") {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => SourcePackage {
                name: n.trim().to_string(),
                version: v.trim_end_matches(')').trim().to_string(),
            },
            None => SourcePackage {
                name: src.trim().to_string(),
                version: version.to_string(),
            },
        },
        None => SourcePackage {
            name: name.to_string(),
            version: version.to_string(),
        },
    });
    Ok(Some(pkg))
}

/// `var/lib/dpkg/info/*.list`: the files each package installed.
pub struct DpkgFileLists;

impl Analyzer for DpkgFileLists {
    fn name(&self) -> &'static str {
        "dpkg-files"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.path
            .strip_prefix("var/lib/dpkg/info/")
            .is_some_and(|n| n.ends_with(".list") && !n.contains('/'))
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        Ok(Found {
            owned_files: super::lines(&text)
                .filter(|l| l.starts_with('/') && l.len() > 1)
                .map(str::to_string)
                .collect(),
            ..Found::default()
        })
    }
}

/// `usr/share/doc/<package>/copyright`: licenses, which the status file does not carry.
pub struct DpkgCopyright;

impl Analyzer for DpkgCopyright {
    fn name(&self) -> &'static str {
        "dpkg-copyright"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        file.path
            .strip_prefix("usr/share/doc/")
            .and_then(|rest| rest.strip_suffix("/copyright"))
            .is_some_and(|pkg| !pkg.is_empty() && !pkg.contains('/'))
    }

    fn analyze(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let package = file
            .path
            .trim_start_matches("usr/share/doc/")
            .trim_end_matches("/copyright");
        let licenses = copyright_licenses(&String::from_utf8_lossy(content));
        if licenses.is_empty() {
            return Ok(Found::default());
        }
        Ok(Found {
            licenses: vec![(package.to_string(), licenses)],
            ..Found::default()
        })
    }
}

/// Licenses named in a copyright file: the `License:` fields of the machine-readable
/// format (DEP-5), else the `/usr/share/common-licenses/NAME` files it points to.
fn copyright_licenses(text: &str) -> Vec<String> {
    fn add(out: &mut Vec<String>, name: &str) {
        let name = name.trim().trim_end_matches(['.', ',', ';', ')', '"']);
        // Some files put prose after `License:`; a licence name is a few words at most.
        let words = name.split_whitespace().count();
        if name.is_empty() || name.len() >= 100 || words > 7 {
            return;
        }
        let name = dep5_to_spdx(name);
        if !out.contains(&name) {
            out.push(name);
        }
    }
    let mut out: Vec<String> = Vec::new();
    for line in super::lines(text) {
        if let Some(value) = line.strip_prefix("License:") {
            add(&mut out, value);
        }
    }
    if out.is_empty() {
        for (i, _) in text.match_indices("/usr/share/common-licenses/") {
            let rest = text
                .get(i + "/usr/share/common-licenses/".len()..)
                .unwrap_or("");
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
                .collect();
            add(&mut out, &name);
        }
    }
    out
}

/// Turns a DEP-5 licence (`GPL-2+`, `Apache-2`, `GPL-2+ or Artistic`) into SPDX
/// (`GPL-2.0-or-later`, `Apache-2.0`, `GPL-2.0-or-later OR Artistic-1.0`) where the
/// short names of the Debian copyright format have an SPDX equivalent; others are kept.
pub fn dep5_to_spdx(expr: &str) -> String {
    let mut out = Vec::new();
    for word in expr.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "or" => out.push("OR".to_string()),
            "and" => out.push("AND".to_string()),
            "with" => out.push("WITH".to_string()),
            _ => out.push(dep5_term(word.trim_end_matches(','))),
        }
    }
    out.join(" ")
}

fn dep5_term(term: &str) -> String {
    let fixed = match term.to_ascii_lowercase().as_str() {
        "apache-2" | "apache-2.0" => Some("Apache-2.0"),
        "apache-1.1" => Some("Apache-1.1"),
        "expat" | "mit" => Some("MIT"),
        "bsd-2-clause" => Some("BSD-2-Clause"),
        "bsd-3-clause" => Some("BSD-3-Clause"),
        "bsd-4-clause" => Some("BSD-4-Clause"),
        "artistic" | "artistic-1" | "artistic-1.0" => Some("Artistic-1.0"),
        "artistic-2" | "artistic-2.0" => Some("Artistic-2.0"),
        "zlib" => Some("Zlib"),
        "isc" => Some("ISC"),
        "psf-2" => Some("PSF-2.0"),
        "cc0" | "cc0-1.0" => Some("CC0-1.0"),
        "mpl-1.1" => Some("MPL-1.1"),
        "mpl-2.0" | "mpl-2" => Some("MPL-2.0"),
        _ => None,
    };
    if let Some(f) = fixed {
        return f.to_string();
    }
    // The GNU family: GPL-2, GPL-2+, LGPL-2.1+, AGPL-3, GFDL-1.3+.
    let (base, plus) = match term.strip_suffix('+') {
        Some(b) => (b, true),
        None => (term, false),
    };
    if let Some((family, version)) = base.split_once('-') {
        let family_up = family.to_ascii_uppercase();
        if ["GPL", "LGPL", "AGPL", "GFDL"].contains(&family_up.as_str())
            && !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            let version = if version.contains('.') {
                version.to_string()
            } else {
                format!("{version}.0")
            };
            let suffix = if plus { "or-later" } else { "only" };
            return format!("{family_up}-{version}-{suffix}");
        }
    }
    term.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep5_names_become_spdx() {
        assert_eq!(dep5_to_spdx("GPL-2+"), "GPL-2.0-or-later");
        assert_eq!(dep5_to_spdx("LGPL-2.1"), "LGPL-2.1-only");
        assert_eq!(
            dep5_to_spdx("GPL-2+ or Artistic"),
            "GPL-2.0-or-later OR Artistic-1.0"
        );
        assert_eq!(dep5_to_spdx("Apache-2"), "Apache-2.0");
        assert_eq!(dep5_to_spdx("BSD-3-clause"), "BSD-3-Clause");
        assert_eq!(dep5_to_spdx("public-domain"), "public-domain");
        assert_eq!(
            dep5_to_spdx("GPL-3+ with Autoconf-exception"),
            "GPL-3.0-or-later WITH Autoconf-exception"
        );
    }

    const STATUS: &str = "Package: libssl3\nStatus: install ok installed\nPriority: optional\n\
Architecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: Secure Sockets Layer\n \
 toolkit - shared libraries\n\nPackage: removed\nStatus: deinstall ok config-files\n\
Version: 1.0\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\n\
Source: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\n\nPackage: broken\nStatus: install ok installed\n";

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    #[test]
    fn reads_installed_packages_and_their_sources() {
        let found = DpkgStatus
            .analyze(&file("var/lib/dpkg/status"), STATUS.as_bytes())
            .unwrap_or_default();
        let names: Vec<_> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libssl3", "libc6"]);
        let ssl = &found.packages[0];
        assert_eq!(ssl.version, "3.0.11-1~deb12u2");
        assert_eq!(ssl.arch.as_deref(), Some("amd64"));
        assert_eq!(
            ssl.source
                .as_ref()
                .map(|s| (s.name.as_str(), s.version.as_str())),
            Some(("openssl", "3.0.11-1~deb12u2"))
        );
        let libc = &found.packages[1];
        assert_eq!(libc.source.as_ref().map(|s| s.name.as_str()), Some("glibc"));
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("broken: no Version"));
    }

    #[test]
    fn wants_status_and_distroless_records_only() {
        assert!(DpkgStatus.required(&file("var/lib/dpkg/status")));
        assert!(DpkgStatus.required(&file("var/lib/dpkg/status.d/base")));
        assert!(!DpkgStatus.required(&file("var/lib/dpkg/status.d/base.md5sums")));
        assert!(!DpkgStatus.required(&file("var/lib/dpkg/status-old")));
        assert!(DpkgFileLists.required(&file("var/lib/dpkg/info/bash.list")));
        assert!(!DpkgFileLists.required(&file("var/lib/dpkg/info/bash.md5sums")));
        assert!(DpkgCopyright.required(&file("usr/share/doc/bash/copyright")));
        assert!(!DpkgCopyright.required(&file("usr/share/doc/bash/x/copyright")));
    }

    #[test]
    fn copyright_licenses_from_dep5_and_common_licenses() {
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Files: *\nLicense: GPL-3+\n\nFiles: lib/*\nLicense: LGPL-2.1+\n\nLicense: GPL-3+\n text\n";
        assert_eq!(
            copyright_licenses(dep5),
            ["GPL-3.0-or-later", "LGPL-2.1-or-later"]
        );
        let old = "see /usr/share/common-licenses/GPL-2.\n";
        assert_eq!(copyright_licenses(old), ["GPL-2.0-only"]);
        let prose = "License: Redistribution and use in source and binary forms, with or without\n";
        assert!(copyright_licenses(prose).is_empty());
    }
}
