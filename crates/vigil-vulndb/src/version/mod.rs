//! Version ordering per ecosystem.
//!
//! Each scheme is one file implementing its ecosystem's published rules; [`Scheme`]
//! picks one from an OSV ecosystem name. Comparison never guesses: a string the scheme
//! cannot parse is an error, so the matcher can report it rather than raise a false alarm.

use std::cmp::Ordering;

/// A version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian/Ubuntu dpkg: epoch, upstream, revision, `~`.
    Dpkg,
    /// RPM (rpmvercmp): epoch, `~`, `^`.
    Rpm,
    /// Alpine apk: `_alpha`...`_p` suffixes, `-rN`.
    Apk,
    /// SemVer 2.0 (npm, crates.io; OSV `SEMVER` ranges).
    Semver,
    /// Go modules: `v` prefix, `+incompatible`, pseudo-versions.
    Go,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven ComparableVersion.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// NuGet (SemVer 2.0 with four-part legacy versions, case-insensitive).
    NuGet,
    /// Packagist / Composer.
    Packagist,
}

/// A version string the scheme cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme:?} version {version:?}: {reason}")]
pub struct VersionError {
    /// The scheme that rejected it.
    pub scheme: Scheme,
    /// The version as given.
    pub version: String,
    /// Why.
    pub reason: String,
}

impl Scheme {
    /// The scheme for an OSV ecosystem name (`Debian:12`, `Alpine:v3.19`, `PyPI`, ...);
    /// `None` for an ecosystem Vigil does not know (reported, never guessed).
    pub fn for_osv_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia"
            | "Photon OS" | "openEuler" | "Amazon Linux" | "Fedora" => Scheme::Rpm,
            "Alpine" | "Wolfi" | "Chainguard" | "Alpaquita" | "BellSoft Hardened Containers" => {
                Scheme::Apk
            }
            "npm" | "crates.io" => Scheme::Semver,
            "Go" => Scheme::Go,
            "PyPI" => Scheme::Pep440,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Packagist,
            _ => return None,
        })
    }

    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Err(VersionError {
            scheme: self,
            version: format!("{a} / {b}"),
            reason: "not implemented yet".into(),
        })
    }
}
