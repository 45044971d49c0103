//! Differential tests of `Scheme::compare` against the ecosystems' own implementations.
//!
//! `scripts/fixtures/version-vectors` asks dpkg, rpm, Python's `packaging`, npm's
//! `semver`, golang.org/x/mod/semver, Maven's ComparableVersion, RubyGems and Composer to
//! compare thousands of pairs of versions and to say which strings they accept, and caches
//! the answers under `$VIGIL_FIXTURES/version-vectors`. Every line must agree here. When
//! the cache is missing the test says it skipped, unless `VIGIL_REQUIRE_SERVICES=1` (set by
//! `scripts/test`), which makes it fail.
//!
//! Deliberate differences in what is *accepted* (never in order) are listed in
//! `acceptance_differs` with the reason; there are none in order.

use std::cmp::Ordering;
use std::path::PathBuf;
use vigil_vulndb::version::Scheme;

fn fixture() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("VIGIL_FIXTURES").unwrap_or_else(|_| "/var/cache/vigil-fixtures".into()),
    )
    .join("version-vectors");
    if dir.join("ready").exists() {
        return Some(dir);
    }
    let why = format!(
        "the version vectors are missing ({}); build them with scripts/fixtures/version-vectors",
        dir.display()
    );
    if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

const ECOSYSTEMS: [(&str, Scheme); 8] = [
    ("dpkg", Scheme::Dpkg),
    ("rpm", Scheme::Rpm),
    ("pep440", Scheme::Pep440),
    ("semver", Scheme::Semver),
    ("go", Scheme::Go),
    ("maven", Scheme::Maven),
    ("rubygems", Scheme::RubyGems),
    ("packagist", Scheme::Packagist),
];

/// Strings the reference implementation and Vigil deliberately disagree on accepting.
fn acceptance_differs(eco: &str, v: &str) -> Option<&'static str> {
    match eco {
        // x/mod/semver requires the `v`; OSV writes Go versions without it, so both are
        // accepted (the order is the same, checked by the go_without_v test below).
        "go" if !v.starts_with('v') => Some("OSV's Go versions have no `v`"),
        // npm's strict parser rejects `=1.2.3`; lock files carry it, and it means 1.2.3.
        "semver" if v.starts_with('=') => Some("lock files write `=1.2.3`"),
        // npm trims blanks; a version with blanks around it is not one Vigil reads.
        "semver" if v.trim() != v => Some("surrounding blanks"),
        // Gem::Version.new("") is 0; an empty version is never meant.
        "rubygems" if v.trim().is_empty() => Some("empty version"),
        _ => None,
    }
}

#[test]
fn pairs_agree_with_the_reference_implementations() {
    let Some(dir) = fixture() else { return };
    let mut failures = Vec::new();
    for (eco, scheme) in ECOSYSTEMS {
        let path = dir.join(format!("{eco}.txt"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut n = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut f = line.split(' ');
            let (Some(a), Some(b), Some(r), None) = (f.next(), f.next(), f.next(), f.next()) else {
                panic!("{}: bad line {line:?}", path.display());
            };
            let want = match r {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                _ => panic!("{}: bad result in {line:?}", path.display()),
            };
            n += 1;
            match (scheme.compare(a, b), scheme.compare(b, a)) {
                (Ok(x), Ok(y)) if x == want && y == want.reverse() => {}
                (x, y) => failures.push(format!(
                    "{eco}: {a} {r} {b} per the reference; Vigil: {x:?} / reversed {y:?}"
                )),
            }
        }
        assert!(n > 500, "{eco}: only {n} vectors");
        eprintln!("{eco}: {n} pairs checked");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn validity_agrees_with_the_reference_implementations() {
    let Some(dir) = fixture() else { return };
    let mut failures = Vec::new();
    for (eco, scheme) in ECOSYSTEMS {
        let path = dir.join(format!("{eco}.validity"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.lines() {
            let Some((verdict, v)) = line.split_once('\t') else {
                panic!("{}: bad line {line:?}", path.display());
            };
            let want = verdict == "valid";
            if scheme.is_valid(v) != want && acceptance_differs(eco, v).is_none() {
                failures.push(format!(
                    "{eco}: {v:?} is {verdict} per the reference; Vigil: {:?}",
                    scheme.validate(v)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn go_without_v() {
    // Every vector also holds with OSV's v-less spelling.
    let Some(dir) = fixture() else { return };
    let text = std::fs::read_to_string(dir.join("go.txt")).expect("go.txt");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let [a, b, r] = f.as_slice() else { continue };
        let got = Scheme::Go.compare(a.trim_start_matches('v'), b);
        let want = match *r {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            _ => Ordering::Greater,
        };
        assert_eq!(got, Ok(want), "{line}");
    }
}
