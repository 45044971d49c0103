//! A package found in an image: what it is, where it came from, and how to name it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The packaging system a package belongs to.
///
/// OS package formats (`Deb`, `Apk`, `Rpm`) are not advisory ecosystems by themselves:
/// the matcher pairs them with the image's [`crate::OsInfo`] (a `deb` on Ubuntu is matched
/// against Ubuntu advisories). Language ecosystems map one to one onto OSV's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Debian packages (dpkg): Debian, Ubuntu, distroless.
    Deb,
    /// Alpine packages (apk): Alpine, Wolfi, Chainguard.
    Apk,
    /// RPM packages: RHEL, Rocky, Alma, Fedora, Amazon Linux, SUSE.
    Rpm,
    /// Python distributions (PyPI).
    Pypi,
    /// JavaScript packages (the npm registry; also yarn and pnpm).
    Npm,
    /// Go modules.
    Go,
    /// Rust crates (crates.io).
    Cargo,
    /// Java artifacts (Maven coordinates).
    Maven,
    /// Ruby gems.
    Gem,
    /// PHP packages (Packagist / Composer).
    Composer,
    /// .NET packages (NuGet).
    Nuget,
}

impl Ecosystem {
    /// Every ecosystem, OS formats first.
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Pypi,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::Cargo,
        Ecosystem::Maven,
        Ecosystem::Gem,
        Ecosystem::Composer,
        Ecosystem::Nuget,
    ];

    /// The package-url type (`pkg:<type>/...`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "golang",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
        }
    }

    /// The OSV ecosystem name for language ecosystems; `None` for OS formats, whose OSV
    /// ecosystem depends on the distribution.
    pub fn osv_name(self) -> Option<&'static str> {
        match self {
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => None,
            Ecosystem::Pypi => Some("PyPI"),
            Ecosystem::Npm => Some("npm"),
            Ecosystem::Go => Some("Go"),
            Ecosystem::Cargo => Some("crates.io"),
            Ecosystem::Maven => Some("Maven"),
            Ecosystem::Gem => Some("RubyGems"),
            Ecosystem::Composer => Some("Packagist"),
            Ecosystem::Nuget => Some("NuGet"),
        }
    }

    /// True for packages managed by the operating system's package manager.
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }

    /// The lower-case name used in Vigil's JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "go",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source package an OS binary package was built from.
///
/// Distribution advisories are keyed by source package (Debian's `openssl` covers
/// `libssl3` and `openssl`), so the matcher needs it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    /// Source package name (dpkg `Source:`, the name part of rpm's `SOURCERPM`, apk `o:`).
    pub name: String,
    /// Source package version, when it differs from or is given apart from the binary's.
    pub version: String,
}

/// Where in the image a package was found.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file the package was read from, relative to the image root, with a leading `/`.
    pub path: String,
    /// Digest of the layer that last wrote that file (absent for `dir:` targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// One package in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Packaging system.
    pub ecosystem: Ecosystem,
    /// Name as the ecosystem spells it (Maven: `group:artifact`; Go: module path).
    pub name: String,
    /// Version exactly as recorded (dpkg/rpm include epoch and release: `1:2.3-4`).
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Source package, for OS packages whose database records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// CPU architecture, when the database records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Licenses as declared (SPDX expressions where the source gives them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Where it was found.
    pub location: Location,
    /// The analyzer that reported it (`dpkg`, `python-dist-info`, `npm-lock`, ...).
    pub found_by: String,
    /// True for development-only dependencies taken from lock files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

impl Package {
    /// A package with the fields every analyzer knows; the purl is derived from them.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        found_by: &str,
        path: &str,
    ) -> Package {
        let name = name.into();
        let version = version.into();
        let purl = crate::package::purl(ecosystem, &name, &version, None, &[]);
        Package {
            ecosystem,
            name,
            version,
            purl,
            source: None,
            arch: None,
            licenses: Vec::new(),
            location: Location {
                path: format!("/{}", path.trim_start_matches('/')),
                layer: None,
            },
            found_by: found_by.to_string(),
            dev: false,
        }
    }

    /// The identity used to deduplicate: ecosystem, name, version and file.
    pub fn key(&self) -> (Ecosystem, &str, &str, &str) {
        (
            self.ecosystem,
            &self.name,
            &self.version,
            &self.location.path,
        )
    }
}

/// Builds a package URL, splitting the namespace the way each purl type expects.
///
/// `distro` is the OS qualifier for OS packages (`debian-12`), `qualifiers` any others
/// (`arch`). Falls back to a plainly formatted purl if the components are not accepted
/// by the purl library, so a strange name never drops a package.
pub fn purl(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    namespace: Option<&str>,
    qualifiers: &[(&str, &str)],
) -> String {
    let (ns, short) = match (namespace, ecosystem) {
        (Some(ns), _) => (Some(ns.to_string()), name.to_string()),
        (None, Ecosystem::Maven) => match name.split_once(':') {
            Some((g, a)) => (Some(g.to_string()), a.to_string()),
            None => (None, name.to_string()),
        },
        (None, Ecosystem::Npm) if name.starts_with('@') => match name.split_once('/') {
            Some((scope, n)) => (Some(scope.to_string()), n.to_string()),
            None => (None, name.to_string()),
        },
        (None, Ecosystem::Go) | (None, Ecosystem::Composer) => match name.rsplit_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, name.to_string()),
        },
        (None, Ecosystem::Pypi) => (None, pep503_normalize(name)),
        _ => (None, name.to_string()),
    };
    let built = (|| -> Result<String, packageurl::Error> {
        let mut p = packageurl::PackageUrl::new(ecosystem.purl_type(), short.as_str())?;
        if let Some(ns) = &ns {
            p.with_namespace(ns.as_str())?;
        }
        if !version.is_empty() {
            p.with_version(version)?;
        }
        for (k, v) in qualifiers {
            if !v.is_empty() {
                p.add_qualifier(*k, *v)?;
            }
        }
        Ok(p.to_string())
    })();
    // Names the purl grammar refuses as given (a Go module replaced by `./local`) are
    // kept whole as one percent-encoded name segment, so the purl stays parseable.
    built.unwrap_or_else(|_| {
        format!(
            "pkg:{}/{}@{}",
            ecosystem.purl_type(),
            percent_encode(name),
            percent_encode(version)
        )
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Normalizes a Python distribution name as PEP 503 does (`Foo_Bar.baz` -> `foo-bar-baz`).
pub fn pep503_normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn purls_follow_each_type() {
        assert_eq!(
            purl(Ecosystem::Npm, "@babel/core", "7.0.0", None, &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                None,
                &[]
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(Ecosystem::Go, "github.com/pkg/errors", "v0.9.1", None, &[]),
            "pkg:golang/github.com/pkg/errors@v0.9.1"
        );
        assert_eq!(
            purl(Ecosystem::Pypi, "Flask_Login", "0.6.3", None, &[]),
            "pkg:pypi/flask-login@0.6.3"
        );
        assert_eq!(
            purl(
                Ecosystem::Deb,
                "libssl3",
                "3.0.11-1~deb12u2",
                Some("debian"),
                &[("arch", "amd64"), ("distro", "debian-12")]
            ),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn odd_names_still_give_parseable_purls() {
        for (eco, name) in [
            (Ecosystem::Go, "./local"),
            (Ecosystem::Go, "../x/y"),
            (Ecosystem::Npm, "a b/@c"),
        ] {
            let p = purl(eco, name, "1.0", None, &[]);
            assert!(packageurl::PackageUrl::from_str(&p).is_ok(), "{name}: {p}");
        }
    }

    #[test]
    fn pep503() {
        assert_eq!(pep503_normalize("Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(pep503_normalize("requests"), "requests");
    }
}
