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

#[cfg(test)]
mod tests {
    use super::{MAX_VERSION_LEN, Scheme};
    use std::cmp::Ordering;

    const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Pep440,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Packagist,
    ];

    /// xorshift64*: a fixed, dependency-free stream of pseudo-random numbers.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        "1.0",
        "1:2.3-4",
        "1.0~rc1",
        "1.0^git1-1.el9",
        "1.2.3_alpha1-r0",
        "1.0.0-beta.1+b",
        "v1.2.3-0.20200101000000-abcdef123456+incompatible",
        "1!2.0rc1.post2.dev3+local.7",
        "1.0-SNAPSHOT",
        "2.0.0.pre.rc1",
        "1.0.0.0-beta-2",
        "v1.0.0-RC1-dev",
        "1.x-dev",
        "1.2.3~abc-r1",
        "20240101",
    ];
    const PIECES: &[&str] = &[
        "0",
        "1",
        "9",
        "00",
        "12345678901234567890",
        ".",
        "-",
        "_",
        "+",
        "~",
        "^",
        ":",
        "!",
        "@",
        "*",
        "a",
        "z",
        "A",
        "v",
        "alpha",
        "beta",
        "rc",
        "pre",
        "p",
        "post",
        "dev",
        "r",
        "SNAPSHOT",
        "sp",
        "ga",
        "x",
        " ",
        "\t",
        "\n",
        "\0",
        "é",
        "\u{663}",
        "as",
        "..",
        "--",
    ];

    fn garbage(rng: &mut Rng) -> String {
        let mut s = String::new();
        if rng.below(2) == 0 {
            s.push_str(SEEDS[rng.below(SEEDS.len())]);
        }
        for _ in 0..rng.below(12) {
            let piece = PIECES[rng.below(PIECES.len())];
            if rng.below(3) == 0 && !s.is_empty() {
                // Insert at a random character boundary.
                let at = s
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(rng.below(s.chars().count()))
                    .unwrap_or(0);
                s.insert_str(at, piece);
            } else {
                s.push_str(piece);
            }
        }
        s
    }

    #[test]
    fn garbage_never_panics_and_orders_consistently() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for scheme in ALL {
            let mut valid: Vec<String> = Vec::new();
            for _ in 0..3000 {
                let v = garbage(&mut rng);
                match scheme.compare(&v, &v) {
                    Ok(o) => {
                        assert_eq!(o, Ordering::Equal, "{scheme:?}: {v:?} vs itself");
                        valid.push(v);
                    }
                    Err(e) => assert!(!e.reason.is_empty()),
                }
            }
            eprintln!("{scheme:?}: {} of 3000 valid", valid.len());
            assert!(
                valid.len() > 50,
                "{scheme:?}: too few valid strings to check order"
            );
            // Antisymmetry and transitivity on random pairs and triples of valid ones.
            for _ in 0..3000.min(valid.len() * 4) {
                let a = &valid[rng.below(valid.len())];
                let b = &valid[rng.below(valid.len())];
                let c = &valid[rng.below(valid.len())];
                let ab = scheme.compare(a, b).expect("valid");
                let ba = scheme.compare(b, a).expect("valid");
                assert_eq!(ab, ba.reverse(), "{scheme:?}: {a:?} vs {b:?}");
                let bc = scheme.compare(b, c).expect("valid");
                let ac = scheme.compare(a, c).expect("valid");
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    assert_ne!(ac, Ordering::Greater, "{scheme:?}: {a:?} <= {b:?} <= {c:?}");
                }
            }
        }
    }

    #[test]
    fn long_and_deep_versions_are_bounded() {
        for scheme in ALL {
            let long = "1".repeat(MAX_VERSION_LEN + 1);
            let e = scheme.compare(&long, "1").expect_err("too long");
            assert!(e.reason.contains("longer than"), "{e}");
            // The deepest nesting a Maven version can have, and long runs everywhere.
            for v in [
                "1-".repeat(MAX_VERSION_LEN / 2),
                "1.".repeat(MAX_VERSION_LEN / 2),
                "a1".repeat(MAX_VERSION_LEN / 2),
                "9".repeat(MAX_VERSION_LEN),
                "~".repeat(MAX_VERSION_LEN),
            ] {
                let _ = scheme.compare(&v, &v);
                let _ = scheme.compare(&v, "1.0");
            }
        }
    }

    #[test]
    fn osv_ecosystems() {
        assert_eq!(Scheme::for_osv_ecosystem("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(Scheme::for_osv_ecosystem("Alpine:v3.19"), Some(Scheme::Apk));
        assert_eq!(Scheme::for_osv_ecosystem("Go"), Some(Scheme::Go));
        assert_eq!(Scheme::for_osv_ecosystem("Hex"), None);
        assert!(Scheme::Go.is_valid("1.2.3"));
        let e = Scheme::Pep440
            .compare("1.0", "1.0foo")
            .expect_err("invalid");
        assert_eq!(e.version, "1.0foo");
    }
}
