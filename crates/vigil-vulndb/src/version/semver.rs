//! Semantic Versioning 2.0.0 (semver.org), the ordering of npm and crates.io and of OSV's
//! `SEMVER` ranges: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, precedence by §11 (numbers
//! numerically, a pre-release older than its release, identifiers pairwise with numeric
//! ones numerically and below alphanumeric ones compared in ASCII order, a longer set of
//! identifiers newer when the shorter is its prefix); build metadata is checked but
//! ignored.
//!
//! Prefixes: npm's own strict parser accepts one leading `v` (`v1.2.3`), and lock files
//! and `npm ls` output sometimes carry `=` or `=v` (which npm's `clean()` removes); all
//! three are accepted here and mean nothing. Anything else outside the grammar (leading
//! zeros, `V`, surrounding blanks, `1.2`) is an error. Numbers are compared exactly at any
//! size, where npm refuses numbers above 2^53.
//!
//! Hand-written rather than the `semver` crate: that crate is exact for SemVer but has
//! no notion of the prefixes, and the same identifier comparison is needed by the Go
//! scheme, which allows `v1`/`v1.2` shorthands the crate rejects. It is forty lines.

use std::cmp::Ordering;

#[derive(Debug)]
pub(super) struct Version<'a> {
    pub(super) nums: [&'a [u8]; 3],
    pub(super) pre: Vec<&'a [u8]>,
}

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    let s = v.as_bytes();
    let s = s
        .strip_prefix(b"=v")
        .or_else(|| s.strip_prefix(b"="))
        .or_else(|| s.strip_prefix(b"v"))
        .unwrap_or(s);
    let (nums, rest) = parse_numbers(s, 3, 3)?;
    let [a, b, c] = [0, 1, 2].map(|i| nums.get(i).copied().unwrap_or(b"0"));
    let pre = parse_suffixes(rest)?;
    Ok(Version {
        nums: [a, b, c],
        pre,
    })
}

pub(super) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    a.nums
        .iter()
        .zip(b.nums.iter())
        .map(|(x, y)| super::cmp_digits(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
        .then_with(|| compare_prerelease(&a.pre, &b.pre))
}

/// Dot-separated numeric identifiers without leading zeros, at least `min` and at most
/// `max` of them; returns them and what follows.
pub(super) fn parse_numbers(
    mut s: &[u8],
    min: usize,
    max: usize,
) -> Result<(Vec<&[u8]>, &[u8]), String> {
    let mut nums = Vec::new();
    loop {
        let n = super::digits_len(s);
        if n == 0 {
            return Err("expected a number".into());
        }
        let (num, rest) = s.split_at(n);
        if n > 1 && num.first() == Some(&b'0') {
            return Err("number with a leading zero".into());
        }
        nums.push(num);
        s = rest;
        if nums.len() < max && s.first() == Some(&b'.') {
            s = s.get(1..).unwrap_or_default();
            continue;
        }
        break;
    }
    if nums.len() < min {
        return Err(format!("expected {min} numbers"));
    }
    Ok((nums, s))
}

/// `[-PRERELEASE][+BUILD]` and nothing after; returns the pre-release identifiers.
pub(super) fn parse_suffixes(s: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (pre_part, build) = match s.iter().position(|&c| c == b'+') {
        Some(p) => (
            s.get(..p).unwrap_or_default(),
            Some(s.get(p + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    };
    let mut pre = Vec::new();
    match pre_part.split_first() {
        None => {}
        Some((b'-', ids)) => {
            for id in ids.split(|&c| c == b'.') {
                check_identifier(id)?;
                if id.len() > 1 && id.first() == Some(&b'0') && id.iter().all(u8::is_ascii_digit) {
                    return Err("numeric pre-release identifier with a leading zero".into());
                }
                pre.push(id);
            }
        }
        Some((c, _)) => return Err(format!("unexpected {:?}", char::from(*c))),
    }
    if let Some(build) = build {
        for id in build.split(|&c| c == b'.') {
            check_identifier(id)?;
        }
    }
    Ok(pre)
}

fn check_identifier(id: &[u8]) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty identifier".into());
    }
    match id
        .iter()
        .find(|c| !(c.is_ascii_alphanumeric() || **c == b'-'))
    {
        Some(c) => Err(format!("invalid character {:?}", char::from(*c))),
        None => Ok(()),
    }
}

/// SemVer §11.3-4: no pre-release is newer; identifiers pairwise; longer is newer.
pub(super) fn compare_prerelease(a: &[&[u8]], b: &[&[u8]]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b.iter()) {
        let xn = x.iter().all(u8::is_ascii_digit);
        let yn = y.iter().all(u8::is_ascii_digit);
        let ord = match (xn, yn) {
            (true, true) => super::cmp_digits(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Semver;

    #[test]
    fn spec_precedence_examples() {
        // SemVer 2.0.0 §11.
        assert_sorted(S, &["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        assert_sorted(S, &["1.0.0-alpha", "1.0.0"]);
        assert_sorted(
            S,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
    }

    #[test]
    fn build_metadata_and_prefixes() {
        assert_pairs(
            S,
            &[
                ("1.0.0+20130313144700", "=", "1.0.0"),
                ("1.0.0-beta+exp.sha.5114f85", "=", "1.0.0-beta"),
                ("1.0.0+21AF26D3----117B344092BD", "=", "1.0.0+0"),
                ("v1.2.3", "=", "1.2.3"),
                ("=1.2.3", "=", "1.2.3"),
                ("=v1.2.3", "=", "1.2.3"),
                ("1.0.0-alpha-a.b-c", "<", "1.0.0-alpha-b"),
                ("1.0.0-0A", ">", "1.0.0-99"),
                ("1.0.0-A", "<", "1.0.0-a"),
                ("1.0.0-1.2.3", "<", "1.0.0-1.2.3.0"),
                ("10.0.0", ">", "9.99.99"),
                ("0.0.0-0", "<", "0.0.0"),
                (
                    "99999999999999999999999.0.0",
                    ">",
                    "99999999999999999999998.999.999",
                ),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            S,
            &[
                "",
                "1",
                "1.2",
                "1.2.3.4",
                "01.2.3",
                "1.02.3",
                "1.2.03",
                "1.2.3-01",
                "1.2.3-",
                "1.2.3+",
                "1.2.3-a..b",
                "1.2.3+a..b",
                "1.2.3-a_b",
                "V1.2.3",
                " 1.2.3",
                "1.2.3 ",
                "vv1.2.3",
                "v=1.2.3",
                "1.2.3-+a",
                "a.b.c",
                "-1.2.3",
            ],
        );
        assert_valid(S, &["0.0.0", "1.2.3-0", "1.2.3-0a", "1.2.3+01", "1.2.3--"]);
    }
}
