//! Version ordering per ecosystem.
//!
//! Each scheme is one file implementing its ecosystem's published rules; [`Scheme`]
//! picks one from an OSV ecosystem name. Comparison never guesses: a string the scheme
//! cannot parse is an error, so the matcher can report it rather than raise a false alarm.

use std::cmp::Ordering;

mod apk;
mod dpkg;
mod go;
mod maven;
mod nuget;
mod packagist;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// The longest version string any scheme accepts, in bytes. Real versions are far
/// shorter (the longest in OSV is under 100); the cap bounds the work a comparison does.
pub const MAX_VERSION_LEN: usize = 256;

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

    /// Compares two versions under this scheme. Either version being invalid is an
    /// error naming that version, never a guessed order.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let wrap = |v: &str, reason: String| VersionError {
            scheme: self,
            version: v.to_string(),
            reason,
        };
        for v in [a, b] {
            if v.len() > MAX_VERSION_LEN {
                return Err(wrap(
                    v,
                    format!("longer than {MAX_VERSION_LEN} bytes ({})", v.len()),
                ));
            }
        }
        macro_rules! both {
            ($module:ident) => {{
                let x = $module::parse(a).map_err(|r| wrap(a, r))?;
                let y = $module::parse(b).map_err(|r| wrap(b, r))?;
                Ok($module::compare(&x, &y))
            }};
        }
        match self {
            Scheme::Dpkg => both!(dpkg),
            Scheme::Rpm => both!(rpm),
            Scheme::Apk => both!(apk),
            Scheme::Semver => both!(semver),
            Scheme::Go => both!(go),
            Scheme::Pep440 => both!(pep440),
            Scheme::Maven => both!(maven),
            Scheme::RubyGems => both!(rubygems),
            Scheme::NuGet => both!(nuget),
            Scheme::Packagist => both!(packagist),
        }
    }

    /// Whether the version is valid under this scheme (what [`Scheme::compare`] accepts).
    pub fn is_valid(self, v: &str) -> bool {
        self.validate(v).is_ok()
    }

    /// Checks one version, saying why it is invalid.
    pub fn validate(self, v: &str) -> Result<(), VersionError> {
        self.compare(v, v).map(|_| ())
    }
}

/// Compares two runs of ASCII digits as unbounded non-negative integers: leading zeros
/// are ignored, then the longer run is the larger number, then the first differing digit
/// decides. Used by every scheme whose reference implementation compares numbers without
/// an upper bound (dpkg, rpm, Python's int, Ruby's Integer, Java's BigInteger).
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_zeros(a);
    let b = trim_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    s.get(n..).unwrap_or_default()
}

/// The length of the run of ASCII digits at the start of `s`.
pub(crate) fn digits_len(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

#[cfg(test)]
pub(crate) mod testutil;
